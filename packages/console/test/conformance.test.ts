import { describeFlowConformance } from '@flow/conformance';
import { consolePair } from '../src';
import { stdioOverChildPipes } from './support/stdio-bridge';

// Where the suite does not run, and why:
// - serial: a serial line has no end of stream (halfCloseWrite 'none'), while most checks read
//   until the peer's EOF; serial.test.ts checks integrity both ways, close and release instead.
// - pty: the far end is a program on a terminal, not a flow in this process, and a terminal
//   rewrites bytes (echo, ONLCR) unless that program switches them off; pty.test.ts runs a real
//   program instead, including a stdio console in raw mode under the PTY.

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
