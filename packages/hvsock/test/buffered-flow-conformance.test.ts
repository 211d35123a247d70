// The flow contract, held by the buffered flow over the in-memory socket double.
import { describeFlowConformance } from '@flow/conformance';
import { bufferedFlow } from '../src/buffered-flow';
import { bufferedSocketCapabilities } from '../src/capabilities';
import { memorySocketPair } from './support/memory-socket';

describeFlowConformance({
  name: 'buffered flow over the in-memory socket double (defaults)',
  capabilities: bufferedSocketCapabilities,
  makePair: () => {
    const [x, y] = memorySocketPair();
    return {
      a: bufferedFlow(x, { capabilities: bufferedSocketCapabilities }),
      b: bufferedFlow(y, { capabilities: bufferedSocketCapabilities }),
    };
  },
});

describeFlowConformance({
  name: 'buffered flow over the in-memory socket double (tiny messages and buffers)',
  capabilities: bufferedSocketCapabilities,
  maxBytes: 2 * 1024 * 1024,
  makePair: () => {
    const [x, y] = memorySocketPair({ capacity: 4096, maxRead: 1000, maxWrite: 777 });
    const options = { capabilities: bufferedSocketCapabilities, messageSize: 512, bufferSize: 3000 };
    return { a: bufferedFlow(x, options), b: bufferedFlow(y, options) };
  },
});
