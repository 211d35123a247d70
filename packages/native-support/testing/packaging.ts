// The packaging tests every package with a native addon runs (hvsock, xen-console, fast-copy):
// the published package as a user gets it. `pnpm pack` (which runs prepack: prebuildify) of the
// package, of @flow/core and of @flow/native-support, then `npm install` of the tarballs into an
// empty folder on a PATH that holds only node and npm (no cc, make or python3). With the prebuilt
// binary the addon loads from prebuilds/ and works; without it the install still succeeds and the
// package's typed error says exactly what is missing; with build tools the install script builds
// it from source, offline. npm may fetch node-gyp-build from the registry; nothing else leaves
// the machine. Each package gives its name, its files and how a user would use its addon.
//
// Not part of the published package (only dist/ and src/ are): the packages' tests import it
// by path.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** What the script of `use` prints (one JSON line): at least where the addon came from. */
export interface UseReport {
  /** The `.node` files loaded before the addon was used: none, since importing loads nothing native. */
  readonly nativeBeforeUse: readonly string[];
  /** Where the addon loaded from, when it did. */
  readonly location?: { readonly path: string; readonly origin: string };
}

/** One package's packaging test. */
export interface PackagingSpec<R extends UseReport> {
  /** The npm name: `@flow/hvsock`. */
  readonly packageName: string;
  /** The package's folder in the workspace. */
  readonly packageRoot: string;
  /** The file node-gyp builds into build/Release: `hvsock.node`. */
  readonly addonFile: string;
  /** The prebuilt file, as the install warning names it: `AF_VSOCK binary`. */
  readonly prebuiltName: string;
  /** Files of this package the tarball must hold besides the common ones, under `package/`. */
  readonly shipped: readonly string[];
  /** A CommonJS program run with `node -e` in the consumer folder that uses the addon and prints one JSON report. */
  readonly use: (installed: string) => string;
  /** Checks of the report when the addon loaded from `origin` (the location was checked already). */
  readonly loaded: (report: R, origin: 'prebuild' | 'build') => void;
  /** Checks of the report when the addon is missing: its typed error must carry `message`. */
  readonly missing: (report: R, message: string) => void;
}

const tuple = `${process.platform}-${process.arch}`;

/** The first executable called `name` on this PATH. */
function which(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} is not on PATH`);
}

/** pnpm: the one running us (turbo under pnpm), else the one on PATH. */
function pnpmCommand(): [string, string[]] {
  const execpath = process.env.npm_execpath;
  if (execpath && /pnpm\.c?js$/.test(execpath)) return [process.execPath, [execpath]];
  return [which('pnpm'), []];
}

function tarList(tarball: string): string[] {
  return execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

/** Declares the packaging tests of one package (call it at the top level of its test file). */
export function describePackaging<R extends UseReport>(spec: PackagingSpec<R>): void {
  const { packageName, packageRoot } = spec;
  const folder = packageName.replace(/^@[^/]+\//, '');
  const installedPath = (dir: string): string => path.join(dir, 'node_modules', ...packageName.split('/'));

  let work: string;
  let dependencyTarballs: string[];
  let packageTarball: string;
  /** A directory holding only `node` and `npm`: the PATH of a user without build tools. */
  let bareBin: string;

  function pack(dir: string): string {
    const [command, prefix] = pnpmCommand();
    const before = new Set(fs.readdirSync(work));
    execFileSync(command, [...prefix, 'pack', '--pack-destination', work], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const made = fs.readdirSync(work).filter((f) => f.endsWith('.tgz') && !before.has(f));
    if (made.length !== 1) throw new Error(`pnpm pack in ${dir} made ${made.length} tarballs`);
    return path.join(work, made[0]!);
  }

  /** What a user's shell would have: PATH with node and npm only, a home, and no npm_* from our runner. */
  function userEnvironment(withBuildTools = false): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { PATH: bareBin, HOME: os.homedir(), TMPDIR: os.tmpdir(), LANG: 'C' };
    if (!withBuildTools) return env;
    // A nodedir without headers: the install script must find Node's headers itself, never download them.
    return { ...env, PATH: `${bareBin}${path.delimiter}${process.env.PATH ?? ''}`, npm_config_nodedir: path.join(work, 'no-headers-here') };
  }

  /** `npm install` of the tarballs in a fresh project directory (failing the test if npm fails); returns the directory and npm's output. */
  function install(name: string, tarball: string, withBuildTools = false): { dir: string; output: string } {
    const dir = path.join(work, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true }));
    // npm runs scripts with `sh` from PATH: name /bin/sh, so that PATH stays node and npm only.
    const flags = ['--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', '--script-shell=/bin/sh'];
    const run = spawnSync('npm', ['install', ...flags, ...dependencyTarballs, tarball], { cwd: dir, env: userEnvironment(withBuildTools), encoding: 'utf8' });
    const output = `${run.stdout}\n${run.stderr}${run.error ? `\n${run.error.message}` : ''}`;
    if (run.status !== 0) throw new Error(`npm install failed (status ${run.status}):\n${output}`);
    return { dir, output };
  }

  /** In the consumer project, as a user's program: the package's use of its addon. */
  function use(dir: string): R {
    const report = JSON.parse(
      execFileSync('node', ['-e', spec.use(installedPath(dir))], { cwd: dir, env: userEnvironment(), encoding: 'utf8', timeout: 60_000 }).trim(),
    ) as R;
    expect(report.nativeBeforeUse).toEqual([]);
    return report;
  }

  /** The tarball as it would be for a system with no prebuilt binary (e.g. linux-arm64). */
  function tarballWithoutPrebuilds(): string {
    const bare = path.join(work, `flow-${folder}-without-prebuilds.tgz`);
    if (fs.existsSync(bare)) return bare;
    const unpacked = path.join(work, 'repack');
    fs.mkdirSync(unpacked);
    execFileSync('tar', ['xzf', packageTarball, '-C', unpacked]);
    fs.rmSync(path.join(unpacked, 'package', 'prebuilds'), { recursive: true, force: true });
    execFileSync('tar', ['czf', bare, '-C', unpacked, 'package']);
    expect(tarList(bare).some((f) => f.includes('prebuilds'))).toBe(false);
    return bare;
  }

  beforeAll(() => {
    for (const root of [packageRoot, path.join(packageRoot, '..', 'native-support')]) {
      if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) throw new Error(`${root}/dist is missing: build the packages first (pnpm build)`);
    }
    work = fs.mkdtempSync(path.join(os.tmpdir(), `${folder}-pack-`));
    bareBin = path.join(work, 'bin');
    fs.mkdirSync(bareBin);
    fs.symlinkSync(process.execPath, path.join(bareBin, 'node'));
    fs.symlinkSync(fs.realpathSync(which('npm')), path.join(bareBin, 'npm'));
    dependencyTarballs = ['core', 'native-support'].map((dep) => pack(path.join(packageRoot, '..', dep)));
    packageTarball = pack(packageRoot);
  });

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('the tarball holds the prebuilt binary, the sources for a rebuild and the install script, and no tests or build leftovers', () => {
    const files = tarList(packageTarball);
    expect(files.filter((f) => f.startsWith(`package/prebuilds/${tuple}/`) && f.endsWith('.node'))).toHaveLength(1);
    const common = ['package/package.json', 'package/binding.gyp', 'package/scripts/install.js', 'package/scripts/native-addon.js', 'package/dist/index.js'];
    expect(files).toEqual(expect.arrayContaining([...common, ...spec.shipped]));
    expect(files.filter((f) => /^package\/(test|build)\/|tsconfig|jest\.config|scripts\/(prebuild|build-native)\.js/.test(f))).toEqual([]);
    // src/ ships only as the TypeScript sources the source maps point to.
    expect(files.filter((f) => f.startsWith('package/src/') && !f.endsWith('.ts'))).toEqual([]);
    const manifest = JSON.parse(execFileSync('tar', ['xzOf', packageTarball, 'package/package.json'], { encoding: 'utf8' })) as {
      dependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    // The workspace:^ ranges became versions, as npm needs them: the install script's steps come from @flow/native-support.
    expect(manifest.dependencies['@flow/core']).toMatch(/^\^?\d+\.\d+\.\d+/);
    expect(manifest.dependencies['@flow/native-support']).toMatch(/^\^?\d+\.\d+\.\d+/);
    expect(manifest.scripts.install).toBe('node scripts/install.js');
    // So does what the install script requires at install time.
    const support = JSON.parse(execFileSync('tar', ['xzOf', dependencyTarballs[1]!, 'package/package.json'], { encoding: 'utf8' })) as {
      dependencies: Record<string, string>;
    };
    expect(support.dependencies['node-gyp-build']).toBe('4.8.4');
  });

  test('npm install with no compiler on PATH: the addon loads from prebuilds/ and works', () => {
    const { dir, output } = install('prebuilt', packageTarball);
    expect(output).not.toContain(`${packageName}: warning`);
    expect(fs.existsSync(path.join(installedPath(dir), 'build'))).toBe(false); // no source build tried
    const report = use(dir);
    expect(report.location?.origin).toBe('prebuild');
    expect(report.location?.path).toContain(path.join('node_modules', ...packageName.split('/'), 'prebuilds', tuple));
    spec.loaded(report, 'prebuild');
  });

  test('npm install of a tarball without prebuilds and no compiler: the install succeeds and the typed error names what is missing', () => {
    const { dir, output } = install('no-prebuilt', tarballWithoutPrebuilds());
    const reason = 'python3, make, a C compiler (cc) not found';
    expect(output).toContain(`${packageName}: warning: no prebuilt ${spec.prebuiltName} for ${tuple} and the source build failed (${reason})`);
    const report = use(dir);
    expect(report.location).toBeUndefined();
    spec.missing(
      report,
      `the native part of ${packageName} is missing: no prebuilt binary for ${tuple} (napi) and no source build (${reason}); ` +
        'reinstall with python3, make and a C compiler available',
    );
  });

  test('npm install of a tarball without prebuilds, with python3, make and cc: the install script builds the addon, offline', () => {
    const { dir, output } = install('source-build', tarballWithoutPrebuilds(), true);
    expect(output).not.toContain(`${packageName}: warning`);
    const report = use(dir);
    expect(report.location).toEqual({ origin: 'build', path: path.join(installedPath(fs.realpathSync(dir)), 'build', 'Release', spec.addonFile) });
    spec.loaded(report, 'build');
  });
}
