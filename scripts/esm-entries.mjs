#!/usr/bin/env node
// Writes the ESM face of a CommonJS package after `tsc` built it: for every entry whose `import`
// condition in package.json names `X.mjs` and `X.d.mts`, a wrapper `X.mjs` that re-exports the
// names of the compiled `X.js`, and `X.d.mts` that re-exports its types.
//
// Why wrappers and not a second build: one copy of every module, whichever way it is loaded.
// A user who `import`s a package and a dependency that `require`s it share the same classes
// (`instanceof FlowError` holds) and the same registries; a second ESM build would load twice.
//
// Usage (from a package folder): node ../../scripts/esm-entries.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';

const root = process.cwd();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const require = createRequire(join(root, 'package.json'));
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function importConditions(exportsField) {
  const found = [];
  for (const [subpath, target] of Object.entries(exportsField ?? {})) {
    if (target && typeof target === 'object' && target.import) found.push({ subpath, ...target.import });
  }
  return found;
}

const entries = importConditions(pkg.exports);
if (entries.length === 0) {
  console.error(`${pkg.name}: no "import" condition in package.json exports; nothing to write`);
  process.exit(1);
}
for (const { subpath, types, default: esm } of entries) {
  if (!esm?.endsWith('.mjs') || !types?.endsWith('.d.mts')) {
    console.error(`${pkg.name} ${subpath}: the import condition must name X.mjs and X.d.mts`);
    process.exit(1);
  }
  const cjsFile = resolve(root, esm.replace(/\.mjs$/, '.js'));
  const cjsName = `./${basename(cjsFile)}`;
  const names = Object.keys(require(cjsFile)).filter((n) => n !== '__esModule' && n !== 'default');
  const bad = names.filter((n) => !IDENTIFIER.test(n));
  if (bad.length > 0) {
    console.error(`${pkg.name} ${subpath}: exports that are not identifiers: ${bad.join(', ')}`);
    process.exit(1);
  }
  const header = `// ESM entry of ${pkg.name}${subpath === '.' ? '' : subpath.slice(1)}: the CommonJS build's exports, so that\n// \`import\` and \`require\` share one copy of every module. Written by the build.\n`;
  const js =
    `${header}import cjs from '${cjsName}';\n\n` +
    (names.length > 0 ? `export const {\n${names.map((n) => `  ${n},`).join('\n')}\n} = cjs;\n` : '');
  writeFileSync(resolve(root, esm), js);
  writeFileSync(resolve(root, types), `${header}export * from '${cjsName}';\n`);
  console.log(`${pkg.name}${subpath === '.' ? '' : subpath.slice(1)}: ${join(dirname(esm), basename(esm))} re-exports ${names.length} names`);
}
