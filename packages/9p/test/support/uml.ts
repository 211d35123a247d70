import * as net from 'node:net';
import * as path from 'node:path';
import { umlMissing as missing } from '@flow/uml';

export { bootUml, type Uml } from '@flow/uml';
export const UML_FIXTURES = path.join(__dirname, '..', 'fixtures', 'uml');

/** Why user-mode Linux cannot run this test here, or undefined when it can. */
export function umlMissing(): string | undefined {
  return missing(['fs/9p/9p.ko']);
}

/** The most bytes the host sends before the guest's relay acknowledges them (see relay.pl). */
const WINDOW = 2048;

/**
 * Joins the host end of a serial line to a TCP connection to 127.0.0.1:port, speaking
 * the relay's protocol: raw bytes towards the guest within a window, frames back.
 */
export function bridgeLine(line: net.Socket, port: number): Promise<void> {
  // Connects when the guest first speaks (its mount), not at boot: a server rightly cuts a
  // connection that does not complete Tversion within its handshake timeout.
  let tcp: net.Socket | undefined;
  let finished: (() => void) | undefined;
  const connectTcp = (): net.Socket => {
    const s = net.connect(port, '127.0.0.1');
    s.on('data', (d: Buffer) => {
      pending.push(Buffer.from(d));
      pump();
    });
    s.once('close', () => finished?.());
    s.once('error', () => undefined);
    return s;
  };
  let credit = WINDOW;
  const pending: Buffer[] = [];
  const pump = (): void => {
    while (credit > 0 && pending.length > 0) {
      let b = pending[0]!;
      if (b.length > credit) {
        pending[0] = b.subarray(credit);
        b = b.subarray(0, credit);
      } else {
        pending.shift();
      }
      credit -= b.length;
      line.write(b);
    }
  };
  let acc: Buffer = Buffer.alloc(0);
  line.on('data', (d: Buffer) => {
    acc = acc.length === 0 ? d : Buffer.concat([acc, d]);
    for (;;) {
      if (acc.length === 0) break;
      const t = acc[0];
      if (t === 0x41) {
        if (acc.length < 5) break;
        credit += acc.readUInt32BE(1);
        acc = acc.subarray(5);
        pump();
      } else if (t === 0x44) {
        if (acc.length < 3) break;
        const n = acc.readUInt16BE(1);
        if (acc.length < 3 + n) break;
        tcp ??= connectTcp();
        tcp.write(Buffer.from(acc.subarray(3, 3 + n)));
        acc = acc.subarray(3 + n);
      } else {
        tcp?.destroy(new Error(`serial line: unexpected byte 0x${t!.toString(16)}`));
        acc = Buffer.alloc(0);
        break;
      }
    }
  });
  return new Promise((resolve) => {
    finished = resolve;
    const done = (): void => {
      tcp?.destroy();
      resolve();
    };
    line.once('close', done);
    line.once('error', done);
  });
}

/** `@@ <tag> <words...>` lines of a guest's console. */
export function guestLines(output: string): string[][] {
  return output
    .split(/\r?\n/)
    .filter((l) => l.startsWith('@@ '))
    .map((l) => l.slice(3).trim().split(/\s+/));
}
