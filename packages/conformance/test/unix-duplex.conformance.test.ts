import { describeFlowConformance } from '../src';
import { UNIX_SOCKET_CAPABILITIES, unixPair } from './socket-pairs';

describeFlowConformance({
  name: 'fromDuplex() over a Unix-domain socket',
  makePair: () => unixPair(),
  capabilities: UNIX_SOCKET_CAPABILITIES,
});
