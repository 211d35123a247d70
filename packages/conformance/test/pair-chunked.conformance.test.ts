import { pair } from '@flow/core';
import { describeFlowConformance } from '../src';

// One-byte chunks make every read return a single byte: 256 KiB keeps the run short.
describeFlowConformance({
  name: 'pair({ chunkSize: 1, capacity: 4096 })',
  makePair: () => {
    const [a, b] = pair({ chunkSize: 1, capacity: 4096 });
    return { a, b };
  },
  maxBytes: 256 * 1024,
});
