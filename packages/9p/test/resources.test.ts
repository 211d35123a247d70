import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportDirectory } from '../src';
import { rawSession } from './support/raw';
import { memorySession } from './support/session';
import { tempDir } from './support/tmp';

const openFds = (): number => fs.readdirSync('/proc/self/fd').length;

test('a session over the host export leaks no file descriptors', async () => {
  const tmp = tempDir();
  fs.writeFileSync(path.join(tmp.dir, 'f'), 'x');
  const before = openFds();
  const s = await memorySession(exportDirectory(tmp.dir));
  for (let i = 0; i < 20; i++) {
    expect((await s.client.readFile('f')).ok).toBe(true);
    expect((await s.client.writeFile(`w${i}`, Buffer.from('y'))).ok).toBe(true);
    expect((await s.client.readdir('')).ok).toBe(true);
  }
  await s.close();
  expect(openFds()).toBe(before);
  tmp.cleanup();
});

test('files left open by a client that hangs up are closed', async () => {
  const tmp = tempDir();
  for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(tmp.dir, `f${i}`), 'x');
  const before = openFds();
  const s = await rawSession(exportDirectory(tmp.dir), '9P2000.L');
  for (let i = 0; i < 10; i++) {
    await s.conn.rpc({ type: 'Twalk', tag: 1, fid: 0, newfid: 10 + i, wnames: [`f${i}`] });
    expect((await s.conn.rpc({ type: 'Tlopen', tag: 1, fid: 10 + i, flags: 0 })).type).toBe('Rlopen');
  }
  expect(openFds()).toBeGreaterThanOrEqual(before + 10);
  s.conn.flow.abort();
  await s.served;
  expect(openFds()).toBe(before);
  tmp.cleanup();
});
