// The Windows half of the addon (native/hvsock_win.c) cannot run here, so this checks what a
// cross compiler can: it compiles with mingw-w64 against the Node headers with every warning an
// error, it links into a DLL whose only imports are node.exe's N-API functions and Windows
// system DLLs, and the Windows constants the TypeScript side uses equal the ones in mingw's
// headers. It says nothing about behaviour on Windows (spec §8 T5). The compiler comes from the
// Debian package gcc-mingw-w64-x86-64-posix; without it this test fails, it does not skip.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { WINDOWS_ERRORS } from '../src/hyperv/wsa-errors';
import { HVSOCKET_CONNECT_TIMEOUT_MAX } from '../src/hyperv/connect';
import { AF_HYPERV, HV_PROTOCOL_RAW, SOCKADDR_HV_SIZE } from '../src/address/hyperv';

const CC = 'x86_64-w64-mingw32-gcc';
const DLLTOOL = 'x86_64-w64-mingw32-dlltool';
const OBJDUMP = 'x86_64-w64-mingw32-objdump';
const SOURCE = join(__dirname, '..', 'native', 'hvsock_win.c');
const INSTALL = 'install the Debian package gcc-mingw-w64-x86-64-posix (apt-get install -y gcc-mingw-w64-x86-64-posix mingw-w64-common)';

/** The Node headers of the running Node (Debian: /usr/include/node). */
function nodeHeaders(): string {
  const candidates = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'];
  const found = candidates.find((d) => existsSync(join(d, 'node_api.h')));
  if (!found) throw new Error(`no node_api.h in ${candidates.join(' or ')}: install the Node.js headers (Debian: libnode-dev)`);
  return found;
}

function run(command: string, args: string[], cwd?: string): { status: number; output: string } {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${command} is missing: ${INSTALL}`);
  if (r.error) throw r.error;
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

function expectSuccess(what: string, r: { status: number; output: string }): void {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.output}`);
}

let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'hvsock-win-'));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('native/hvsock_win.c under mingw-w64 (compile and link only; nothing runs)', () => {
  it('compiles with -Wall -Wextra -Werror against the Node headers and mingw hvsocket.h', () => {
    const r = run(CC, ['-fsyntax-only', '-std=c11', '-Wall', '-Wextra', '-Werror', `-I${nodeHeaders()}`, SOURCE]);
    expectSuccess(`${CC} -fsyntax-only`, r);
    expect(r.output).toBe('');
  });

  it('links into a DLL that imports only N-API from node.exe and Windows system DLLs, and exports the module entry', () => {
    // An import library for node.exe's N-API, from the declarations in the Node headers.
    const headers = nodeHeaders();
    const declared = new Set<string>();
    for (const file of ['js_native_api.h', 'node_api.h']) {
      const text = readFileSync(join(headers, file), 'utf8');
      for (const m of text.matchAll(/NAPI_EXTERN[^;(]*?\b((?:napi|node_api)_\w+)\s*\(/g)) declared.add(m[1] as string);
    }
    expect(declared.has('napi_create_threadsafe_function')).toBe(true);
    writeFileSync(join(work, 'node.def'), `LIBRARY node.exe\nEXPORTS\n${[...declared].join('\n')}\n`);
    expectSuccess('dlltool', run(DLLTOOL, ['-d', 'node.def', '-l', 'libnode.a'], work));
    const dll = join(work, 'hvsock.node');
    expectSuccess(`${CC} -shared`, run(CC, ['-shared', '-O2', '-std=c11', '-Wall', '-Wextra', '-Werror', `-I${headers}`, '-o', dll, SOURCE, `-L${work}`, '-lnode', '-lws2_32']));
    const dump = run(OBJDUMP, ['-p', dll]);
    expectSuccess('objdump', dump);
    const imports = [...dump.output.matchAll(/DLL Name: (\S+)/g)].map((m) => (m[1] as string).toLowerCase()).sort();
    expect(imports).toEqual(['kernel32.dll', 'msvcrt.dll', 'node.exe', 'ws2_32.dll']);
    expect(dump.output).toMatch(/\bnapi_register_module_v1\b/);
  });

  it('uses the Windows constants that mingw-w64 headers define (error codes, AF_HYPERV, SOCKADDR_HV)', () => {
    const names = WINDOWS_ERRORS.map((e) => e.name);
    const source = [
      '#include <winsock2.h>',
      '#include <windows.h>',
      '#include <hvsocket.h>',
      ...names.map((n) => `int v_${n} = ${n};`),
      'int v_HV_PROTOCOL_RAW = HV_PROTOCOL_RAW;',
      'int v_HVSOCKET_CONNECT_TIMEOUT_MAX = HVSOCKET_CONNECT_TIMEOUT_MAX;',
      'int v_SOCKADDR_HV_SIZE = sizeof(SOCKADDR_HV);',
      '',
    ].join('\n');
    writeFileSync(join(work, 'constants.c'), source);
    const r = run(CC, ['-S', '-o', '-', 'constants.c'], work);
    expectSuccess(`${CC} -S`, r);
    const values = new Map<string, number>();
    for (const m of r.output.matchAll(/^v_(\w+):\s*\n\s*\.long\s+(-?\d+)/gm)) values.set(m[1] as string, Number(m[2]));
    for (const e of WINDOWS_ERRORS) expect([e.name, values.get(e.name)]).toEqual([e.name, e.windowsCode]);
    expect(values.get('HV_PROTOCOL_RAW')).toBe(HV_PROTOCOL_RAW);
    expect(values.get('HVSOCKET_CONNECT_TIMEOUT_MAX')).toBe(HVSOCKET_CONNECT_TIMEOUT_MAX);
    expect(values.get('SOCKADDR_HV_SIZE')).toBe(SOCKADDR_HV_SIZE);
    // mingw-w64 10 does not define AF_HYPERV (the Windows SDK's ws2def.h does); the addon defines 34.
    expect(readFileSync(SOURCE, 'utf8')).toContain(`#define AF_HYPERV ${AF_HYPERV}`);
  });
});
