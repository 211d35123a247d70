import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publicPackages, ROOT, type WorkspacePackage } from './support';

// A user's view of the packages: packed as they would be published, installed with npm into a
// folder outside the workspace, then loaded from CommonJS, from ESM and from TypeScript.

const TYPESCRIPTS = { ts5: '5.9.3', ts6: '6.0.3', ts7: '7.0.2' } as const;
const packages = publicPackages();

interface Entry {
  readonly pkg: WorkspacePackage;
  /** The specifier a user writes: `@flow/core`, `@flow/xen-console/sim`. */
  readonly specifier: string;
}

function entries(): Entry[] {
  return packages.flatMap((pkg) => {
    const exportsField = (pkg.json as { exports?: Record<string, unknown> }).exports ?? {};
    return Object.keys(exportsField)
      .filter((k) => k !== './package.json')
      .map((k) => ({ pkg, specifier: k === '.' ? pkg.json.name : `${pkg.json.name}${k.slice(1)}` }));
  });
}

let dir = '';
let tarballs: string[] = [];

function run(command: string, args: readonly string[], cwd = dir): { status: number | null; out: string } {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 180_000, env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' } });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flow-consumer-'));
  const packs = join(dir, 'packs');
  // The script the READMEs point a clone's users to.
  execFileSync('bash', [join(ROOT, 'scripts', 'pack.sh'), packs], { stdio: 'ignore' });
  tarballs = readdirSync(packs).map((f) => join(packs, f));
  const expected = packages.map((p) => `${p.json.name.replace('@', '').replace('/', '-')}-`);
  if (tarballs.length !== packages.length || !expected.every((e) => tarballs.some((t) => t.includes(e)))) {
    throw new Error(`scripts/pack.sh packed ${tarballs.join(', ')}; expected one tarball per public package`);
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  const tools = [
    '@types/node@20',
    ...Object.entries(TYPESCRIPTS).map(([alias, version]) => `${alias}@npm:typescript@${version}`),
    '@arethetypeswrong/cli@0.18',
    'publint@0.3',
  ];
  const install = run('npm', ['install', '--no-save', ...tarballs, ...tools]);
  if (install.status !== 0) throw new Error(`npm install failed:\n${install.out}`);
}, 600_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('installed from the packed tarballs, outside the workspace', () => {
  test('every entry loads from CommonJS and from ESM as one module: the same exports, the same objects', () => {
    const list = JSON.stringify(entries().map((e) => e.specifier));
    writeFileSync(
      join(dir, 'same-module.mjs'),
      `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const problems = [];
for (const specifier of ${list}) {
  const cjs = require(specifier);
  const esm = await import(specifier);
  const cjsNames = Object.keys(cjs).filter((n) => n !== '__esModule').sort();
  const esmNames = Object.keys(esm).sort();
  if (cjsNames.length === 0) problems.push(specifier + ': no exports');
  if (JSON.stringify(cjsNames) !== JSON.stringify(esmNames)) problems.push(specifier + ': names differ');
  for (const name of cjsNames) if (cjs[name] !== esm[name]) problems.push(specifier + ': ' + name + ' is a second copy');
}
const { FlowError } = await import('@flow/core');
const fromRequire = new (require('@flow/core').FlowError)('io', 'x');
if (!(fromRequire instanceof FlowError)) problems.push('instanceof FlowError fails across require and import');
console.log(JSON.stringify(problems));
`,
    );
    const r = run(process.execPath, ['same-module.mjs']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.out.trim().split('\n').pop() ?? 'null')).toEqual([]);
  });

  test('a CommonJS program moves bytes through a pair', () => {
    writeFileSync(
      join(dir, 'consumer.cjs'),
      `const { pair, readAll, unwrap, writeString } = require('@flow/core');
(async () => {
  const [a, b] = pair();
  unwrap(await writeString(a, 'from cjs'));
  unwrap(await a.shutdownWrite());
  console.log(unwrap(await readAll(b)).toString());
})();
`,
    );
    const r = run(process.execPath, ['consumer.cjs']);
    expect(r).toEqual({ status: 0, out: 'from cjs\n' });
  });

  test('an ESM program reads a pair with for await', () => {
    writeFileSync(
      join(dir, 'consumer.mjs'),
      `import { pair, unwrap, writeString } from '@flow/core';
const [a, b] = pair();
unwrap(await writeString(a, 'from esm'));
unwrap(await a.shutdownWrite());
let text = '';
for await (const chunk of b) text += Buffer.from(chunk).toString();
console.log(text);
`,
    );
    const r = run(process.execPath, ['consumer.mjs']);
    expect(r).toEqual({ status: 0, out: 'from esm\n' });
  });

  test('npx flow --help works', () => {
    const r = run('npx', ['--no-install', 'flow', '--help']);
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/usage: flow/i);
  });

  const consumerTs = `import { FlowError, fromWebStreams, pair, readAll, toWebStreams, type Flow } from '@flow/core';
import { connect } from '@flow/tcp';
const [a, b] = pair();
const viaWeb: Flow = fromWebStreams(new TransformStream<Uint8Array, Uint8Array>());
async function web(): Promise<void> {
  await new Blob(['x']).stream().pipeTo(toWebStreams(b).writable);
  const body = new Response(toWebStreams(a).readable);
  void body;
}
const all: Promise<unknown> = readAll(a, { maxBytes: 10 });
async function scoped(): Promise<void> {
  await using flow = a;
  for await (const chunk of flow) void chunk.length;
}
void viaWeb; void web; void all; void scoped; void connect; void FlowError;
`;

  const matrix = Object.keys(TYPESCRIPTS).flatMap((ts) =>
    (['node16', 'bundler'] as const).flatMap((resolution) => ([false, true] as const).map((dom) => [ts, resolution, dom] as const)),
  );

  test.each(matrix)('TypeScript %s, moduleResolution %s, DOM lib %s: the types compile for a consumer', (ts, resolution, dom) => {
    const name = `${ts}-${resolution}-${dom ? 'dom' : 'nodom'}`;
    const folder = join(dir, name);
    execFileSync('mkdir', ['-p', folder]);
    writeFileSync(join(folder, 'consumer.ts'), consumerTs);
    writeFileSync(join(folder, 'consumer.mts'), consumerTs);
    const compilerOptions = {
      strict: true,
      noEmit: true,
      target: 'ES2022',
      module: resolution === 'bundler' ? 'esnext' : 'node16',
      moduleResolution: resolution,
      lib: dom ? ['ES2022', 'DOM'] : ['ES2022'],
    };
    writeFileSync(join(folder, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts', 'consumer.mts'] }));
    const r = run(process.execPath, [join(dir, 'node_modules', ts, 'bin', 'tsc'), '-p', folder]);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });

  test.each(packages.map((p) => [p.json.name, p] as const))('%s: publint and attw find nothing', (_name, pkg) => {
    const tarball = tarballs.find((t) => t.includes(`${pkg.json.name.replace('@', '').replace('/', '-')}-`));
    expect(tarball).toBeDefined();
    const lint = run('npx', ['--no-install', 'publint', 'run', tarball as string, '--strict']);
    expect(lint.out).toMatch(/All good!/);
    const attw = run('npx', ['--no-install', 'attw', tarball as string, '--format', 'ascii']);
    expect(attw.out).toMatch(/No problems found/);
    expect(attw.status).toBe(0);
  });
});
