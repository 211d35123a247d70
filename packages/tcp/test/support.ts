import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { EOF, type Flow } from '@flow/core';

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Reads to EOF; fails the test on a read error. */
export async function readAll(flow: Flow): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for (;;) {
    const r = await flow.read();
    if (!r.ok) throw r.error;
    if (r.value === EOF) return Buffer.concat(parts);
    parts.push(r.value);
  }
}

/** Reads to EOF, hashing as it goes; returns the hash and byte count. */
export async function hashAll(flow: Flow): Promise<{ hash: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for (;;) {
    const r = await flow.read();
    if (!r.ok) throw r.error;
    if (r.value === EOF) return { hash: h.digest('hex'), bytes };
    h.update(r.value);
    bytes += r.value.length;
  }
}

/** Writes `total` random bytes in `chunk`-sized pieces; returns their hash. */
export async function writeRandom(flow: Flow, total: number, chunk = 256 * 1024): Promise<string> {
  const h = createHash('sha256');
  for (let sent = 0; sent < total; ) {
    const piece = randomBytes(Math.min(chunk, total - sent));
    h.update(piece);
    const r = await flow.write(piece);
    if (!r.ok) throw r.error;
    sent += piece.length;
  }
  return h.digest('hex');
}

/** A port on `host` that nothing listens on right now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

export function expectOk<T, E>(r: { ok: true; value: T } | { ok: false; error: E }): T {
  if (!r.ok) throw r.error instanceof Error ? r.error : new Error(String(r.error));
  return r.value;
}
