import { describeFlowConformance } from '../src';
import { tcpPair } from './socket-pairs';

describeFlowConformance({
  name: 'fromDuplex() over loopback TCP',
  makePair: tcpPair,
  capabilities: { halfCloseWrite: 'native', halfCloseRead: 'emulated', abort: 'rst' },
});
