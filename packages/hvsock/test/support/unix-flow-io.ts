import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EOF, type Flow } from '@flow/core';

/** A fresh directory for socket files, short enough for sun_path; remove it with `rmSync`. */
export function socketDir(prefix = 'hv-'): { readonly dir: string; readonly remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function expectOk<T, E>(r: { ok: true; value: T } | { ok: false; error: E }): T {
  if (!r.ok) throw r.error instanceof Error ? r.error : new Error(String(r.error));
  return r.value;
}

/** The error of a failed result; fails the test on success. */
export function expectErr<T, E>(r: { ok: true; value: T } | { ok: false; error: E }): E {
  if (r.ok) throw new Error(`expected an error, got a success: ${String(r.value)}`);
  return r.error;
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

/** Reads exactly `n` bytes (fails the test on EOF or an error before that). */
export async function readBytes(flow: Flow, n: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let got = 0;
  while (got < n) {
    const r = await flow.read();
    if (!r.ok) throw r.error;
    if (r.value === EOF) throw new Error(`EOF after ${got} of ${n} bytes`);
    parts.push(r.value);
    got += r.value.length;
  }
  const all = Buffer.concat(parts);
  if (all.length !== n) throw new Error(`read ${all.length} bytes, wanted exactly ${n}`);
  return all;
}

/** Reads to EOF, hashing as it goes; `pause` runs between reads (a slow reader). */
export async function hashAll(flow: Flow, pause?: () => Promise<void>): Promise<{ hash: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for (;;) {
    const r = await flow.read();
    if (!r.ok) throw r.error;
    if (r.value === EOF) return { hash: h.digest('hex'), bytes };
    h.update(r.value);
    bytes += r.value.length;
    if (pause) await pause();
  }
}

/** Writes `total` random bytes in `chunk`-sized pieces; returns their hash. */
export async function writeRandom(flow: Flow, total: number, chunk = 64 * 1024): Promise<string> {
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

/** Polls `condition` on every loop turn until it holds; throws after `deadlineMs` (a hang guard, not a timing assertion). */
export async function waitUntil(condition: () => boolean, what: string, deadlineMs = 10000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > deadlineMs) throw new Error(`gave up waiting for ${what} after ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Open Unix sockets and servers of this process (libuv's Pipe handles), for leak checks. */
export function pipeHandles(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'PipeWrap' || name === 'PipeServerWrap').length;
}

/** Resolves once no more Pipe handles are open than `baseline` (failing after a generous deadline). */
export function noPipeHandlesLeftAbove(baseline: number): Promise<void> {
  return waitUntil(() => pipeHandles() <= baseline, `pipe handles to drop back to ${baseline} (now ${pipeHandles()})`);
}
