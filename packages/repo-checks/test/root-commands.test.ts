import { spawnSync } from 'node:child_process';
import { ROOT } from './support';

describe('the root commands', () => {
  test('npm reads the project config without a warning', () => {
    // `npm run` with no script lists the scripts: it reads the project's .npmrc like `npm start`.
    const run = spawnSync('npm', ['run'], { cwd: ROOT, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/start/);
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/npm warn/i);
  });
});
