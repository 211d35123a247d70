import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { invokedAs } from '../src/invoked-as';
import { killAllFlows, startFlow } from './support/flow-process';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flow-invoked-'));
});
afterEach(async () => {
  await killAllFlows();
  rmSync(dir, { recursive: true, force: true });
});

describe('the command line printed for running flow again', () => {
  test('flow, when that name on PATH is this program (as npm links it)', () => {
    const script = path.join(dir, 'pkg', 'bin', 'flow.js');
    const bin = path.join(dir, 'bin');
    for (const d of [path.dirname(script), bin]) mkdirSync(d, { recursive: true });
    writeFileSync(script, '');
    chmodSync(script, 0o755);
    symlinkSync(script, path.join(bin, 'flow'));
    expect(invokedAs(script, ['/nonexistent', bin].join(path.delimiter))).toBe('flow');
  });

  test('node and the absolute path, from a clone where flow is on no PATH', () => {
    const script = path.join(dir, 'bin', 'flow.js');
    expect(invokedAs(script, '/nonexistent')).toBe(`node ${script}`);
  });

  test('another program named flow on PATH is not taken for this one', () => {
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'flow'), '#!/bin/sh\n');
    chmodSync(path.join(bin, 'flow'), 0o755);
    const script = path.join(dir, 'clone', 'bin', 'flow.js');
    expect(invokedAs(script, bin)).toBe(`node ${script}`);
  });

  test("flow 9p serve's banner prints a 9p ls line that runs from a clone", async () => {
    const serve = startFlow(['9p', 'serve', dir, '--listen', 'tcp://127.0.0.1:0']);
    await serve.listeningOn();
    const lines = await serve.waitForStdoutLines(5);
    const bin = path.resolve(__dirname, '..', 'bin', 'flow.js');
    expect(lines.find((l) => l.includes(' 9p ls '))).toMatch(new RegExp(`^  (flow|node ${bin.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}) 9p ls tcp://127\\.0\\.0\\.1:\\d+ /$`));
  });
});
