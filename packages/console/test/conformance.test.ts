import { describeFlowConformance } from '@flow/conformance';
import { connectSerial, consolePair } from '../src';
import { startPtyLine } from './support/socat';
import { stdioOverChildPipes } from './support/stdio-bridge';

describeFlowConformance({
  name: 'consolePair()',
  makePair: () => {
    const [a, b] = consolePair();
    return { a, b };
  },
  maxBytes: 16 * 1024 * 1024,
});

describeFlowConformance({
  name: 'connectStdio() on a child process’s pipes (socat relaying to a Unix socket)',
  makePair: stdioOverChildPipes,
  capabilities: { halfCloseWrite: 'native', halfCloseRead: 'emulated', abort: 'close' },
  maxBytes: 16 * 1024 * 1024,
});

describeFlowConformance({
  name: 'connectSerial() on both ends of a socat pty pair',
  makePair: async () => {
    const line = await startPtyLine();
    const a = await connectSerial(line.paths[0]);
    const b = await connectSerial(line.paths[1]);
    if (!a.ok) throw a.error;
    if (!b.ok) throw b.error;
    return {
      a: a.value,
      b: b.value,
      cleanup: async () => {
        await a.value.disconnect();
        await b.value.disconnect();
        await line.stop();
      },
    };
  },
  capabilities: { halfCloseWrite: 'none', halfCloseRead: 'emulated', abort: 'close' },
  maxBytes: 8 * 1024 * 1024,
  timeoutMs: 15000,
});
