import { pair } from '@flow/core';
import { describeFlowConformance } from '../src';

describeFlowConformance({
  name: 'pair({ latencyMs: 1 })',
  makePair: () => {
    const [a, b] = pair({ latencyMs: 1 });
    return { a, b };
  },
});
