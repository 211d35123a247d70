import { pair } from '@flow/core';
import { describeFlowConformance } from '../src';

describeFlowConformance({
  name: 'pair() with default options',
  makePair: () => {
    const [a, b] = pair();
    return { a, b };
  },
});
