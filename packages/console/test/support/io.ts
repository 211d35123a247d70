import { createHash } from 'node:crypto';
import { EOF, formatError, type Flow } from '@flow/core';

/** Reads until EOF (or `limit` bytes), failing the test on a read error. */
export async function readAll(flow: Flow, limit = Infinity): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let total = 0;
  while (total < limit) {
    const r = await flow.read();
    if (!r.ok) throw new Error(`read failed: ${formatError(r.error)}`);
    if (r.value === EOF) break;
    parts.push(r.value);
    total += r.value.length;
  }
  return Buffer.concat(parts);
}

/** Reads until the text read so far contains `needle`; returns all of it. */
export async function readUntil(flow: Flow, needle: string | RegExp, maxBytes = 1 << 20): Promise<string> {
  let text = '';
  for (;;) {
    const found = typeof needle === 'string' ? text.includes(needle) : needle.test(text);
    if (found) return text;
    if (text.length > maxBytes) throw new Error(`no ${String(needle)} in ${maxBytes} bytes: ${JSON.stringify(text.slice(-200))}`);
    const r = await flow.read();
    if (!r.ok) throw new Error(`read failed: ${formatError(r.error)}`);
    if (r.value === EOF) throw new Error(`EOF before ${String(needle)}; got ${JSON.stringify(text)}`);
    text += Buffer.from(r.value).toString('latin1');
  }
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes `data` in `chunkSize` pieces, failing the test on a write error. */
export async function writeAll(flow: Flow, data: Uint8Array, chunkSize = 256 * 1024): Promise<void> {
  for (let off = 0; off < data.length; off += chunkSize) {
    const r = await flow.write(data.subarray(off, Math.min(data.length, off + chunkSize)));
    if (!r.ok) throw new Error(`write failed: ${formatError(r.error)}`);
  }
}

/** Deterministic pseudo-random bytes covering all 256 values (LF, CR, ^C, ^D, ^S, ^Q included). */
export function pattern(length: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
