import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { publicPackages, readJson, ROOT, workspacePackages, type PackageJson } from './support';

/**
 * The only places whose exported symbols may still lack a doc comment: warnings about symbols
 * declared under these paths (relative to the repository root) are tolerated, every other
 * warning fails. An entry that no longer excuses any warning fails too, so that the list only
 * shrinks: remove each entry once its files are documented, until the list is empty.
 */
const NOT_YET_DOCUMENTED: readonly string[] = [
];

interface TypedocConfig {
  readonly entryPointStrategy?: string;
  readonly entryPoints?: readonly string[];
  readonly out?: string;
  readonly packageOptions?: { readonly entryPoints?: readonly string[]; readonly validation?: Record<string, boolean> };
  readonly validation?: Record<string, boolean>;
  readonly treatWarningsAsErrors?: boolean;
  readonly treatValidationWarningsAsErrors?: boolean;
}

const config = readJson<TypedocConfig>(join(ROOT, 'typedoc.json'));
const rootScripts = readJson<PackageJson & { scripts?: Record<string, string> }>(join(ROOT, 'package.json')).scripts ?? {};

/** `@flow/9p` → `packages/9p`: typedoc names declarations by package, the list by folder. */
const folderOf = new Map(workspacePackages().map((p) => [p.json.name, `packages/${p.dir}`]));

/** One typedoc diagnostic: its text (continuation lines joined) and, when it names one, the file it is about. */
interface Diagnostic {
  readonly text: string;
  readonly file: string | undefined;
}

function fileOf(text: string): string | undefined {
  const declared = /defined in (@[^/\s]+\/[^/\s]+)\/(\S+?),/.exec(text);
  if (declared) {
    const folder = folderOf.get(declared[1]!);
    return folder ? `${folder}/${declared[2]}` : `${declared[1]}/${declared[2]}`;
  }
  const path = /relative path (\S+) is not a file/.exec(text);
  if (path) return isAbsolute(path[1]!) ? relative(ROOT, path[1]!) : path[1];
  return undefined;
}

/**
 * The warnings and errors of a typedoc run. Most start with `[warning]`; those about a comment's
 * syntax start with the comment's `file:line:col - ` and are followed by a source excerpt.
 */
function diagnostics(output: string): Diagnostic[] {
  // eslint-disable-next-line no-control-regex
  const lines = output.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  const found: { text: string; file: string | undefined }[] = [];
  let open = false;
  for (const line of lines) {
    const m = /^(?:(\S+):\d+:\d+ - )?\[(?:warning|error)\] /.exec(line);
    if (m && !/^\[\w+\] Found \d+ errors? and \d+ warnings?/.test(line)) {
      found.push({ text: line, file: m[1] === undefined ? undefined : relative(ROOT, resolve(ROOT, m[1])) });
      open = true;
    } else if (open && /^\s/.test(line) && line.trim() !== '') {
      // The indented continuation of a multi-line warning (a list of names).
      found[found.length - 1]!.text += ` ${line.trim()}`;
    } else {
      open = false;
    }
  }
  return found.map(({ text, file }) => ({ text, file: file ?? fileOf(text) }));
}

const excuses = (file: string | undefined, entry: string): boolean => file !== undefined && file.startsWith(entry);

describe('the API documentation site', () => {
  test('covers every public package, from its src/index.ts', () => {
    expect(config.entryPointStrategy).toBe('packages');
    expect([...(config.entryPoints ?? [])].sort()).toEqual(publicPackages().map((p) => `packages/${p.dir}`).sort());
    expect(config.packageOptions?.entryPoints).toEqual(['src/index.ts']);
  });

  test('covers every entry point a package exports (`@flow/xen-console/xenstore` too)', () => {
    const missing: string[] = [];
    for (const pkg of publicPackages()) {
      const own = join(pkg.path, 'typedoc.json');
      const entries = (existsSync(own) ? readJson<TypedocConfig>(own).entryPoints : undefined) ?? config.packageOptions?.entryPoints ?? [];
      const exported = Object.keys(readJson<{ exports?: Record<string, unknown> }>(join(pkg.path, 'package.json')).exports ?? { '.': {} });
      for (const subpath of exported.filter((s) => s !== './package.json')) {
        const source = subpath === '.' ? 'src/index.ts' : `src/${subpath.slice(2)}/index.ts`;
        if (!entries.includes(source)) missing.push(`${pkg.json.name}: ${subpath} (${source})`);
      }
    }
    expect(missing).toEqual([]);
  });

  test('`pnpm run docs` builds it with the validation on and every warning fatal', () => {
    // The script runs typedoc with typedoc.json alone, so what the next test checks is what it runs.
    expect(rootScripts.docs).toMatch(/(^|&& )typedoc$/);
    for (const validation of [config.validation, config.packageOptions?.validation]) {
      expect(validation).toEqual(expect.objectContaining({ notExported: true, invalidLink: true, notDocumented: true }));
    }
    expect(config.treatWarningsAsErrors).toBe(true);
    expect(config.treatValidationWarningsAsErrors).toBe(true);
    expect(config.out).toBe('docs/api');
  });

  test('documents every exported symbol and has no broken link', () => {
    const out = mkdtempSync(join(tmpdir(), 'flow-api-docs-'));
    try {
      // Warnings are made non-fatal for this one run only, so that the whole site is converted
      // and rendered (link checks happen while rendering) and every warning is listed below;
      // the test itself is as strict as the script, apart from NOT_YET_DOCUMENTED.
      const run = spawnSync(
        join(ROOT, 'node_modules', '.bin', 'typedoc'),
        ['--out', out, '--treatWarningsAsErrors', 'false', '--treatValidationWarningsAsErrors', 'false'],
        { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }, maxBuffer: 64 * 1024 * 1024 },
      );
      const found = diagnostics(`${run.stdout}\n${run.stderr}`);

      const unexcused = found.filter((d) => !NOT_YET_DOCUMENTED.some((entry) => excuses(d.file, entry))).map((d) => d.text);
      expect({ status: run.status, unexcused }).toEqual({ status: 0, unexcused: [] });

      const stale = NOT_YET_DOCUMENTED.filter((entry) => !found.some((d) => excuses(d.file, entry)));
      expect({ 'NOT_YET_DOCUMENTED entries with nothing left to excuse (remove them)': stale }).toEqual({
        'NOT_YET_DOCUMENTED entries with nothing left to excuse (remove them)': [],
      });

      const modules = readFileSync(join(out, 'modules.html'), 'utf8');
      for (const pkg of publicPackages()) expect(modules).toContain(pkg.json.name);
      expect(existsSync(join(out, 'index.html'))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
