import { createHash } from 'node:crypto';
import type { Flow } from '@flow/core';
import type { ConformanceCase } from '../case';
import { expectErr, expectOk } from '../support/results';
import { describeEnd, receive } from '../support/transfer';
import { sleep, yieldToLoop } from '../support/wait';

const MESSAGE = 'the bytes an aborted read must not eat';

/** `a` closes; `b` must read exactly MESSAGE, then EOF; then b closes too. */
async function expectExactlyMessage(a: Flow, b: Flow): Promise<void> {
  const closing = a.close();
  const got = await receive(b);
  if (got.end !== 'eof' || got.bytes !== MESSAGE.length || got.sha256 !== createHash('sha256').update(MESSAGE).digest('hex')) {
    throw new Error(`the cancelled read consumed data: ${got.bytes} of ${MESSAGE.length} bytes reached the next reads (${describeEnd(got.end)})`);
  }
  expectOk(await b.close(), 'b.close()');
  expectOk(await closing, 'a.close()');
}

export function readSignalCases(): ConformanceCase[] {
  const base = { check: 'read-signal' as const };
  return [
    {
      ...base,
      title: 'a pending read aborted by its signal consumed nothing: the next read gets the bytes',
      run: async ({ open }) => {
        const { a, b } = await open();
        const controller = new AbortController();
        const reading = b.read({ signal: controller.signal });
        await yieldToLoop();
        controller.abort();
        expectErr(await reading, 'read aborted by its signal', ['aborted']);
        expectOk(await a.write(Buffer.from(MESSAGE)), 'write');
        // The flow is still usable both ways after a cancelled read.
        expect(b.state).toBe('open');
        expectOk(await b.write(Buffer.from('ok')), 'b.write after the cancelled read');
        expect((await receive(a, { expected: 2 })).bytes).toBe(2);
        // Ending the stream, rather than waiting for a byte count, makes a lost byte a failure
        // instead of a hang.
        await expectExactlyMessage(a, b);
      },
    },
    {
      ...base,
      title: 'a read with an already aborted signal returns aborted and leaves the data for the next read',
      run: async ({ open }) => {
        const { a, b } = await open();
        expectOk(await a.write(Buffer.from(MESSAGE)), 'write');
        // Give the bytes time to reach b's buffer, so that the aborted read could have taken them.
        await sleep(20);
        const controller = new AbortController();
        controller.abort();
        expectErr(await b.read({ signal: controller.signal }), 'read with an aborted signal', ['aborted']);
        expectErr(await b.readInto(new Uint8Array(8), { signal: controller.signal }), 'readInto with an aborted signal', ['aborted']);
        expectOk(await a.shutdownWrite(), 'shutdownWrite');
        const rest = await receive(b);
        expect(rest.end).toBe('eof');
        expect(rest.bytes).toBe(MESSAGE.length);
      },
    },
    {
      ...base,
      title: 'a pending readInto aborted by its signal leaves the caller buffer and the data untouched',
      run: async ({ open }) => {
        const { a, b } = await open();
        const controller = new AbortController();
        const buffer = new Uint8Array(64).fill(0x11);
        const reading = b.readInto(buffer, { signal: controller.signal });
        await yieldToLoop();
        controller.abort();
        expectErr(await reading, 'readInto aborted by its signal', ['aborted']);
        expectOk(await a.write(Buffer.from(MESSAGE)), 'write');
        await sleep(20);
        if (!buffer.every((x) => x === 0x11)) throw new Error('the cancelled readInto wrote into the caller buffer');
        await expectExactlyMessage(a, b);
      },
    },
  ];
}
