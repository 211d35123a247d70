import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { packedFiles, publicPackages, readJson, ROOT, workspacePackages, type PackageJson } from './support';

const root = readJson<PackageJson>(join(ROOT, 'package.json'));
const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');

describe('the repository', () => {
  test('has a LICENSE that names the license package.json declares', () => {
    expect(root.license).toBe('ISC');
    expect(license).toMatch(/^ISC License/);
  });

  test('says where it lives', () => {
    expect(root.repository?.url).toMatch(/^git\+https:\/\/.+\.git$/);
    expect(root.homepage).toMatch(/^https:\/\//);
    expect(root.bugs?.url).toMatch(/^https:\/\//);
  });
});

describe.each(workspacePackages().map((p) => [p.json.name, p] as const))('%s', (_name, pkg) => {
  test('declares the license, the repository folder, the homepage and where bugs go', () => {
    const json = pkg.json;
    expect(json.description?.length).toBeGreaterThan(20);
    expect(json.license).toBe(root.license);
    expect(json.repository).toEqual({ type: 'git', url: root.repository?.url, directory: `packages/${pkg.dir}` });
    expect(json.homepage).toBe(`${root.homepage?.replace(/#readme$/, '')}/tree/main/packages/${pkg.dir}#readme`);
    expect(json.bugs?.url).toBe(root.bugs?.url);
  });

  test('carries the repository LICENSE', () => {
    expect(readFileSync(join(pkg.path, 'LICENSE'), 'utf8')).toBe(license);
  });
});

describe.each(publicPackages().map((p) => [p.json.name, p] as const))('the %s tarball', (_name, pkg) => {
  let files: string[] = [];
  beforeAll(() => {
    files = packedFiles(pkg);
  });

  test('has keywords to be found by', () => {
    expect(pkg.json.keywords?.length).toBeGreaterThan(2);
  });

  test('holds the LICENSE, the README and the built code', () => {
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts']));
  });

  test('ships every source a source map points to', () => {
    const maps = files.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const shipped = new Set(files.map((f) => normalize(f)));
    const missing: string[] = [];
    for (const map of maps) {
      const { sources } = readJson<{ sources: string[] }>(join(pkg.path, map));
      for (const source of sources) {
        const target = normalize(join(dirname(map), source));
        if (!shipped.has(target)) missing.push(`${map} → ${target}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test('holds no tests, fixtures or build leftovers', () => {
    expect(files.filter((f) => /(^|\/)(test|__tests__|coverage)\//.test(f) || /\.tsbuildinfo$|\.tgz$/.test(f))).toEqual([]);
  });
});
