import { spawnSync } from 'node:child_process';
import { ROOT } from './support';

describe('the root commands', () => {
  test('npm reads the project config without a warning', () => {
    // `npm run` with no script lists the scripts: it reads the project's .npmrc like `npm start`.
    // As from a user's shell: without the npm_config_* variables pnpm sets for the scripts it runs
    // (this test itself runs under pnpm), which npm would warn about as unknown env config.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    const run = spawnSync('npm', ['run'], { cwd: ROOT, encoding: 'utf8', env });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/start/);
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/npm warn/i);
  });
});
