import { PassThrough } from 'node:stream';
import { EOF } from '@flow/core';
import { connectStdio, type StdioConsole } from '../src';
import { pattern, readAll, sha256, writeAll } from './support/io';
import { collect, exited, spawnFixture } from './support/processes';

async function open(options: Parameters<typeof connectStdio>[0]): Promise<StdioConsole> {
  const r = await connectStdio(options);
  if (!r.ok) throw r.error;
  return r.value;
}

describe('stdio console through a real child process with piped stdio', () => {
  test('a 16 MiB binary round trip through a child that echoes with its stdio console is intact', async () => {
    const child = spawnFixture('stdio-echo.ts', ['until-eof'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const stderr = collect(child.stderr);
    // The parent's end is a stdio console too, on injected streams (the child's pipes).
    const con = await open({ input: child.stdout!, output: child.stdin! });
    expect(con.capabilities.halfCloseWrite).toBe('native');
    const data = pattern(16 * 1024 * 1024, 7);
    const [, echoed] = await Promise.all([
      (async () => {
        await writeAll(con, data);
        // The child sees EOF, shuts down its own output and exits.
        expect((await con.shutdownWrite()).ok).toBe(true);
      })(),
      readAll(con),
    ]);
    expect(echoed.length).toBe(data.length);
    expect(sha256(echoed)).toBe(sha256(data));
    // The child ends by itself (no process.exit): its console released stdin and stdout.
    expect(await exited(child)).toEqual({ code: 0, signal: null });
    expect(await stderr).toBe('');
    expect((await con.close()).ok).toBe(true);
    await con.disconnect();
  });

  test('a large write to a pipe nobody reads yet waits and is not lost', async () => {
    const child = spawnFixture('stdio-echo.ts', ['until-eof'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const con = await open({ input: child.stdout!, output: child.stdin! });
    const data = pattern(4 * 1024 * 1024, 3);
    let accepted = false;
    const writing = con.write(data).then((r) => {
      accepted = true;
      return r;
    });
    // Nobody reads: the child blocks on its full stdout pipe, so our write cannot complete.
    await new Promise((r) => setTimeout(r, 200));
    expect(accepted).toBe(false);
    const reading = readAll(con);
    expect((await writing).ok).toBe(true);
    await con.shutdownWrite();
    expect(sha256(await reading)).toBe(sha256(data));
    expect((await exited(child)).code).toBe(0);
    await con.disconnect();
  });

  test('EPIPE when the reader goes away gives closed, and the writer does not crash', async () => {
    const child = spawnFixture('stdio-flood.ts', [], { stdio: ['ignore', 'pipe', 'pipe'] });
    const stderr = collect(child.stderr);
    // Read a little, then go away: the child's next writes hit a pipe with no reader.
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    child.stdout!.destroy();
    const exit = await exited(child);
    const report = JSON.parse((await stderr).trim()) as { kind: string; code: string; written: number };
    expect(report.kind).toBe('closed');
    expect(report.code).toBe('EPIPE');
    expect(exit).toEqual({ code: 0, signal: null });
  });
});

describe('stdio console on injected streams', () => {
  test('log appends the configured line ending and drops lines after close', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const con = await open({ input, output, lineEnding: '\r\n' });
    const written = collect(output);
    await con.log('one');
    await con.log('two');
    input.end();
    expect((await con.close()).ok).toBe(true);
    await con.log('three');
    expect(await written).toBe('one\r\ntwo\r\n');
    expect(con.state).toBe('closed');
  });

  test('reads return copies, then EOF at the end of input', async () => {
    const input = new PassThrough();
    const con = await open({ input, output: new PassThrough() });
    const chunk = Buffer.from('abc\ndef');
    input.write(chunk);
    const r = await con.read();
    chunk.fill(0x7a);
    expect(r.ok && r.value !== EOF ? Buffer.from(r.value).toString() : '').toBe('abc\ndef');
    input.end();
    expect((await readAll(con)).length).toBe(0);
    await con.disconnect();
  });

  test('an output destroyed under the console gives closed on the next write, not a crash', async () => {
    const output = new PassThrough();
    const con = await open({ input: new PassThrough(), output });
    output.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    await new Promise((r) => setImmediate(r));
    const w = await con.write(Buffer.from('lost'));
    expect(w.ok ? 'ok' : w.error.kind).toBe('closed');
    await con.log('dropped');
    await con.disconnect();
  });

  test('keep-open leaves the output usable after shutdownWrite and reports halfCloseWrite none', async () => {
    const output = new PassThrough();
    const con = await open({ input: new PassThrough(), output, shutdown: 'keep-open', closeStreams: false });
    expect(con.capabilities.halfCloseWrite).toBe('none');
    await con.log('x');
    expect((await con.shutdownWrite()).ok).toBe(true);
    const w = await con.write(Buffer.from('y'));
    expect(w.ok ? 'ok' : w.error.kind).toBe('closed');
    expect(output.writableEnded).toBe(false);
    await con.disconnect();
    output.end();
  });
});
