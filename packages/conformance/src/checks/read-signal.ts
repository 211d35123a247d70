import { EOF } from '@flow/core';
import type { ConformanceCase } from '../case';
import { expectErr, expectOk } from '../support/results';
import { receive } from '../support/transfer';
import { sleep, yieldToLoop } from '../support/wait';

const MESSAGE = 'the bytes an aborted read must not eat';

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
        const got = await receive(b, { expected: MESSAGE.length });
        expect(got.bytes).toBe(MESSAGE.length);
        // The flow is still usable both ways after a cancelled read.
        expect(b.state).toBe('open');
        expectOk(await b.write(Buffer.from('ok')), 'b.write after the cancelled read');
        expect((await receive(a, { expected: 2 })).bytes).toBe(2);
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
        expect(buffer.every((x) => x === 0x11)).toBe(true);
        const r = expectOk(await b.read(), 'read after the cancelled readInto');
        if (r === EOF) throw new Error('EOF instead of data');
        expect(Buffer.from(r).toString()).toBe(MESSAGE.slice(0, r.length));
      },
    },
  ];
}
