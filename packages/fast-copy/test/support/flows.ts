// TCP and Unix-domain flows from @flow/tcp for the tests that run copy and proxy on both paths:
// the engine (the accelerator installed) and the pure TypeScript path (accelerator null).
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EOF, type CopyAccelerator, type Flow } from '@flow/core';
import { connect, listen, type TcpFlow } from '@flow/tcp';
import { fastCopyAccelerator } from '../../src';

export type Path = 'fast' | 'pure';

/** Each path with the accelerator option that selects it. */
export const PATHS: readonly (readonly [Path, CopyAccelerator | null])[] = [
  ['fast', fastCopyAccelerator],
  ['pure', null],
];

export type Kind = 'tcp' | 'unix';
export const KINDS: readonly Kind[] = ['tcp', 'unix'];

const dirs: string[] = [];
const flows: Flow[] = [];

/** Both ends of one connection, as flows: `near` is the end a test copies from or to. */
export async function flowPair(kind: Kind): Promise<{ near: TcpFlow; far: TcpFlow }> {
  let path: string | undefined;
  if (kind === 'unix') {
    const dir = mkdtempSync(join(tmpdir(), 'fast-copy-flow-'));
    dirs.push(dir);
    path = join(dir, 's');
  }
  const r = await listen(path ? { path } : { host: '127.0.0.1', port: 0 });
  if (!r.ok) throw r.error;
  const listener = r.value;
  const target = path ? { path } : { host: '127.0.0.1', port: listener.address.family === 'unix' ? 0 : listener.address.port };
  const [far, near] = await Promise.all([connect(target), listener.accept()]);
  await listener.close();
  if (!far.ok) throw far.error;
  if (!near.ok) throw near.error;
  flows.push(near.value, far.value);
  return { near: near.value, far: far.value };
}

/** Aborts every flow a test made and removes the temp dirs. */
export function abortAll(): void {
  for (const flow of flows.splice(0)) flow.abort();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Reads to the end; says how it ended (`eof` or the error's kind) with the bytes before it. */
export async function drain(flow: Flow): Promise<{ data: Buffer; end: string }> {
  const parts: Uint8Array[] = [];
  for (;;) {
    const r = await flow.read();
    if (!r.ok) return { data: Buffer.concat(parts), end: r.error.kind };
    if (r.value === EOF) return { data: Buffer.concat(parts), end: 'eof' };
    parts.push(r.value);
  }
}

/** Reads exactly `n` bytes (fails the test at an early end). */
export async function readExactly(flow: Flow, n: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let got = 0;
  while (got < n) {
    const r = await flow.read();
    if (!r.ok) throw r.error;
    if (r.value === EOF) throw new Error(`EOF after ${got} of ${n} bytes`);
    parts.push(r.value);
    got += r.value.length;
  }
  return Buffer.concat(parts);
}

export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Resolves after `n` turns of the event loop (bytes in flight on loopback have arrived by then). */
export async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
}
