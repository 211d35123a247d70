import { EOF, type Flow } from '../../src';

/** Reads `flow` to EOF and returns everything it delivered; a read error is thrown. */
export async function readAll(flow: Flow): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for (;;) {
    const r = await flow.read();
    if (!r.ok) throw r.error;
    if (r.value === EOF) return Buffer.concat(parts);
    parts.push(r.value);
  }
}
