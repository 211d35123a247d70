// Every TypeScript example in a package README, as written there: each one type-checks against
// the built packages (as a user's file would), and each one that can run here runs, with only the
// changes listed below (a free port for a fixed one, a temporary directory for /srv or /tmp), and
// prints what its comments say it prints. A new ```ts block must be added to EXAMPLES, so no
// README example goes unchecked.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import ts from 'typescript';
import { publicPackages, ROOT } from './support';

interface Example {
  /** Declarations a fragment assumes (the variables the README's prose introduces). */
  readonly prelude?: string;
  /** Wraps a fragment written as a function body (it `return`s) in an async function. */
  readonly functionBody?: boolean;
  /** Runs it: the replacements to make, and lines it must print on stdout (in this order, others may come between). */
  readonly run?: {
    readonly replace?: (ctx: RunContext) => ReadonlyArray<readonly [string, string]>;
    readonly prints: readonly (string | RegExp)[];
    /** A server that runs until killed: stop it once every line of `prints` was printed, in order. */
    readonly keepsRunning?: boolean;
    /** The block is a jest test file: run it with jest. */
    readonly jest?: boolean;
  };
  /** Why it only type-checks here. */
  readonly notRun?: string;
}

interface RunContext {
  readonly dir: string;
  readonly port: number;
}

const CORE_FLOW = "import type { Flow } from '@flow/core';\ndeclare const flow: Flow;\n";

const EXAMPLES: Record<string, Example> = {
  'core#1': { notRun: "packages/core/test/readme-example.test.ts runs it against a real upstream and a refused one" },
  'core#2': { prelude: "import type { Flow } from '@flow/core';\ndeclare const client: Flow;\ndeclare const upstream: Flow;\n" },
  'core#3': { prelude: CORE_FLOW },
  'core#4': { prelude: `${CORE_FLOW}declare const payload: Uint8Array;\n` },
  'core#5': {
    prelude: `${CORE_FLOW}import { toDuplex } from '@flow/core';\ndeclare const source: NodeJS.ReadableStream;\ndeclare const destination: NodeJS.WritableStream;\n`,
  },
  'core#6': {
    prelude: `${CORE_FLOW}import { fromWebStreams, toWebStreams } from '@flow/core';\ndeclare const source: ReadableStream<Uint8Array>;\n`,
  },
  'core#7': { prelude: CORE_FLOW },
  'core#8': {
    prelude: `${CORE_FLOW}import { readChunks } from '@flow/core';\ndeclare function handle(chunk: Uint8Array): void;\ndeclare const reply: Uint8Array;\n`,
  },
  'tcp#1': { run: { prints: ['HELLO'] } },
  '9p#1': {
    run: {
      replace: ({ dir, port }) => [
        ["'/srv/share'", JSON.stringify(dir)],
        ['5640', String(port)],
      ],
      prints: ['hello from the share', /^\d+ requests, eof$/],
      keepsRunning: true,
    },
  },
  'console#1': {
    // The shell's prompt may come before its output on the same line: "# hello from /bin/sh".
    run: { prints: [/(^|# )hello from \/bin\/sh\s*$/, /^exit status \{ exitCode: 3, signal: undefined \}$/] },
  },
  'xen-console#1': { run: { prints: ['login: '] } },
  'native-support#1': { notRun: 'it declares the addon of a package that does not exist; the three real declarations are loaded by their packages\' tests' },
  'hvsock#1': { notRun: 'it connects to AF_VSOCK CID 16, which only user-mode Linux may do here (the hvsock package runs vsock there)' },
  'hvsock#2': {
    run: { replace: ({ dir }) => [['/tmp/v.sock', join(dir, 'v.sock')]], prints: ['hello guest'] },
  },
  'conformance#1': { run: { jest: true, prints: [] } },
  // Installing the engine loads the native addon: it must be there and load.
  'fast-copy#1': { run: { prints: [] } },
  'fast-copy#2': {
    functionBody: true,
    prelude:
      "import type { Socket } from 'node:net';\ndeclare const clientSocket: Socket;\ndeclare const upstreamSocket: Socket;\ndeclare const signal: AbortSignal;\n",
  },
};

/** The ```ts blocks of a README, in order. */
function tsBlocks(readme: string): string[] {
  return [...readme.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) => m[1] as string);
}

const readmes = publicPackages().map((p) => ({ dir: p.dir, blocks: tsBlocks(readFileSync(join(p.path, 'README.md'), 'utf8')) }));
const blocks = readmes.flatMap((r) => r.blocks.map((source, i) => ({ key: `${r.dir}#${i + 1}`, source })));

let work = '';
beforeAll(() => {
  // Inside this package, so that `@flow/...` resolves to the workspace's built packages.
  work = mkdtempSync(join(__dirname, '..', '.readme-run-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function moduleSource(key: string, source: string): string {
  const example = EXAMPLES[key] ?? {};
  if (!example.functionBody) return `${example.prelude ?? ''}${source}\nexport {};\n`;
  // Its imports go to the top of the module; the rest is the function's body.
  const lines = source.split('\n');
  const imports = lines.filter((l) => l.startsWith('import '));
  const body = lines.filter((l) => !l.startsWith('import '));
  return `${imports.join('\n')}\n${example.prelude ?? ''}export async function example(): Promise<unknown> {\n${body.join('\n')}\n}\n`;
}

test('every ```ts block of a package README is listed here', () => {
  expect(blocks.map((b) => b.key).filter((k) => !(k in EXAMPLES))).toEqual([]);
  expect(Object.keys(EXAMPLES).filter((k) => !blocks.some((b) => b.key === k))).toEqual([]);
});

test('every README example type-checks against the built packages, as a user file', () => {
  const dir = join(work, 'typecheck');
  mkdirSync(dir);
  for (const { key, source } of blocks) writeFileSync(join(dir, `${key.replace('#', '-')}.mts`), moduleSource(key, source));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        lib: ['es2023', 'esnext.disposable', 'dom'],
        types: ['node', 'jest'],
        strict: true,
        noEmit: true,
        skipLibCheck: true,
      },
      include: ['*.mts'],
    }),
  );
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  const r = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
  expect(r.stdout + r.stderr).toBe('');
  expect(r.status).toBe(0);
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** The expected lines that `lines` lacks: each must appear, in this order, others may come between. */
function missingLines(lines: readonly string[], prints: readonly (string | RegExp)[]): (string | RegExp)[] {
  const matches = (line: string, want: string | RegExp): boolean => (typeof want === 'string' ? line === want : want.test(line));
  let at = 0;
  return prints.filter((want) => {
    while (at < lines.length && !matches(lines[at] as string, want)) at += 1;
    if (at === lines.length) return true;
    at += 1;
    return false;
  });
}

/** How an example's process ended, in words a failing test shows as they are. */
const STOPPED_ON_MATCH = 'stopped once it printed every expected line';

interface NodeRun {
  readonly lines: string[];
  readonly stderr: string;
  /** `exited with code N`, STOPPED_ON_MATCH, or why it was killed. */
  readonly ended: string;
}

/**
 * Runs node with `args` until it exits; one that `keepsRunning` (a server) is stopped as soon as
 * its stdout holds every line of `prints` in order (not merely as many lines: a log line before
 * the expected ones must not stop it early), or killed after `boundMs`.
 */
function runNode(args: string[], prints: readonly (string | RegExp)[], keepsRunning: boolean, boundMs = 60_000): Promise<NodeRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    let stopped: string | undefined;
    const lines = (): string[] => out.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l !== '');
    const stop = (why: string, signal: NodeJS.Signals): void => {
      if (stopped !== undefined) return;
      stopped = why;
      child.kill(signal);
    };
    // A bound for a hung example, so that the test reports what it printed instead of timing out.
    const timer = setTimeout(() => stop(`killed after ${boundMs} ms, still running`, 'SIGKILL'), boundMs);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (keepsRunning && missingLines(lines(), prints).length === 0) stop(STOPPED_ON_MATCH, 'SIGTERM');
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ lines: lines(), stderr, ended: stopped ?? (code === null ? `killed by ${signal}` : `exited with code ${code}`) });
    });
  });
}

describe('a server example (keepsRunning) is stopped on the match', () => {
  // A server that logs a line of its own before the expected ones, then keeps running.
  const server = (printed: string[]): string[] => [
    '-e',
    `const lines = ${JSON.stringify(printed)}; lines.forEach((l, i) => setTimeout(() => console.log(l), 50 * i)); setInterval(() => {}, 1000);`,
  ];

  test('it runs on past a line that is not expected until the expected ones came', async () => {
    const r = await runNode(server(['listening on 127.0.0.1:1', 'hello', '3 requests, eof']), ['hello', /^\d+ requests, eof$/], true);
    expect(r).toEqual({ lines: ['listening on 127.0.0.1:1', 'hello', '3 requests, eof'], stderr: '', ended: STOPPED_ON_MATCH });
  });

  test('one that never prints the expected lines is reported, not taken for a match', async () => {
    const r = await runNode(server(['listening on 127.0.0.1:1', 'goodbye']), ['hello'], true, 2_000);
    expect(missingLines(r.lines, ['hello'])).toEqual(['hello']);
    expect(r.ended).toBe('killed after 2000 ms, still running');
  });
});

const runnable = blocks.filter((b) => EXAMPLES[b.key]?.run);

test.each(runnable.map((b) => [b.key, b.source] as const))('%s runs as written and prints what it says', async (key, source) => {
  const run = (EXAMPLES[key] as Example).run!;
  const dir = mkdtempSync(join(work, 'run-'));
  writeFileSync(join(dir, 'hello.txt'), 'hello from the share');
  let code = moduleSource(key, source);
  for (const [from, to] of run.replace?.({ dir, port: await freePort() }) ?? []) {
    expect(code).toContain(from);
    code = code.split(from).join(to);
  }
  if (run.jest) {
    const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
    writeFileSync(join(dir, 'example.test.js'), js);
    const jest = require.resolve('jest/bin/jest', { paths: [ROOT] });
    const config = JSON.stringify({ rootDir: dir, testEnvironment: 'node', transform: {}, testMatch: ['**/example.test.js'] });
    const r = await runNode([jest, '--config', config, '--ci'], [], false);
    expect({ ended: r.ended, failures: /Tests:.*failed/.test(r.stderr) ? r.stderr : '' }).toEqual({ ended: 'exited with code 0', failures: '' });
    expect(r.stderr).toMatch(/Tests: +(\d+ skipped, )?\d+ passed/);
    return;
  }
  const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  writeFileSync(join(dir, 'example.mjs'), js);
  const r = await runNode([join(dir, 'example.mjs')], run.prints, run.keepsRunning === true);
  // Each expected line appears, in this order (a terminal example also prints the echo of its input);
  // a server is stopped by us once they all did, anything else must exit by itself with 0.
  const ended = run.keepsRunning ? STOPPED_ON_MATCH : 'exited with code 0';
  expect({ missing: missingLines(r.lines, run.prints), ended: r.ended, stderr: r.stderr, printed: r.lines }).toEqual({
    missing: [],
    ended,
    stderr: '',
    printed: r.lines,
  });
});
