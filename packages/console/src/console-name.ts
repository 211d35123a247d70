import { FlowError, err, ok, type Result } from '@flow/core';
import { parseLineEnding, type LineEnding } from './line-ending';
import type { DataBits, Parity, SerialSettings, StopBits } from './serial';

/** What a console name asks for, before anything is opened. */
export type ConsoleSpec =
  | {
      /** The process's stdin and stdout. */
      readonly backend: 'stdio';
      /** The parameters after `?`, parsed and checked; absent ones are left out. */
      readonly options: StdioNameOptions;
    }
  | {
      /** A program under a pseudo-terminal. */
      readonly backend: 'pty';
      /** The program after `pty:`, percent-decoded; not empty, no NUL byte, not yet looked up in `PATH`. */
      readonly command: string;
      /** The parameters after `?`, parsed and checked; absent ones are left out. */
      readonly options: PtyNameOptions;
    }
  | {
      /** A serial port or tty device. */
      readonly backend: 'serial';
      /** The device after `serial:`, percent-decoded; not empty, no NUL byte, not yet opened. */
      readonly path: string;
      /** The parameters after `?`, parsed and checked; absent ones are left out. */
      readonly options: SerialNameOptions;
    }
  | {
      /** One end of an in-memory console pair. */
      readonly backend: 'memory';
      /** The parameters after `?`, parsed and checked; absent ones are left out. */
      readonly options: MemoryNameOptions;
    };

interface Common {
  /** `lineEnding=lf|crlf|cr` (any case): what `log` appends, instead of the backend's default. */
  lineEnding?: LineEnding;
}
/** The parameters a `stdio` name may carry: `raw`, `shutdown` and `lineEnding`. */
export interface StdioNameOptions extends Common {
  /** `raw=true|false` (or `1|0`, `yes|no`): as `StdioOptions.raw`. */
  raw?: boolean;
  /** `shutdown=end|keep-open`: as `StdioOptions.shutdown`. */
  shutdown?: 'end' | 'keep-open';
}
/** The parameters a `pty:` name may carry: `arg` (repeatable), `cols`, `rows`, `cwd`, `term`, `eof` and `lineEnding`. */
export interface PtyNameOptions extends Common {
  /** The values of every `arg=` parameter, in order: the program's arguments. */
  args?: string[];
  /** `cols=`: terminal width, an integer from 1 to 65535. */
  cols?: number;
  /** `rows=`: terminal height, an integer from 1 to 65535. */
  rows?: number;
  /** `cwd=`: the program's working directory; may not be empty. */
  cwd?: string;
  /** `term=`: `TERM` for the program; may not be empty. */
  term?: string;
  /** `eof=eof-char|none`: what `shutdownWrite` sends, as `PtyOptions.eof`. */
  eof?: 'eof-char' | 'none';
}
/**
 * The parameters a `serial:` name may carry: `baud` (here `baudRate`, an integer from 1 to
 * 100000000), `dataBits`, `parity`, `stopBits`, `rtscts`, `xon`, `xoff` and `lineEnding`.
 */
export interface SerialNameOptions extends Common, Partial<{ -readonly [K in keyof SerialSettings]: SerialSettings[K] }> {}
/** The parameters a `memory` name may carry: `capacity` and `lineEnding`. */
export interface MemoryNameOptions extends Common {
  /** `capacity=`: bytes each direction holds before writes wait, an integer from 1 to 2^30. */
  capacity?: number;
}

const EXAMPLES = {
  stdio: 'stdio?raw=false&lineEnding=crlf',
  pty: 'pty:/bin/sh?arg=-i&cols=80&rows=24',
  serial: 'serial:/dev/ttyS0?baud=115200&parity=none&stopBits=1&rtscts=false',
  memory: 'memory?capacity=65536',
} as const;

const GRAMMAR = 'expected stdio, memory, pty:<command> or serial:<device>';

/** Longest name accepted: a name comes from users (a command line, a config file). */
const MAX_NAME_LENGTH = 4096;

function invalid(message: string, example: string): Result<never, FlowError> {
  return err(new FlowError('invalid', `${message}; e.g. "${example}"`));
}

type Params = Map<string, string[]>;

function decode(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

function parseQuery(query: string, name: string, example: string): Result<Params, FlowError> {
  const params: Params = new Map();
  if (query === '') return ok(params);
  for (const piece of query.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const key = decode(eq < 0 ? piece : piece.slice(0, eq));
    const value = decode(eq < 0 ? '' : piece.slice(eq + 1));
    if (key === undefined || value === undefined) {
      return invalid(`bad percent-encoding in "${piece}" of console name "${name}"`, example);
    }
    if (eq < 0) return invalid(`parameter "${key}" of console name "${name}" has no value (write ${key}=<value>)`, example);
    const list = params.get(key) ?? [];
    list.push(value);
    params.set(key, list);
  }
  return ok(params);
}

/** Reads each parameter once, so that unknown or repeated ones can be reported. */
class ParamReader {
  error: FlowError | undefined;
  constructor(
    private readonly params: Params,
    private readonly backend: keyof typeof EXAMPLES,
    private readonly name: string,
  ) {}

  private fail(message: string): undefined {
    this.error ??= new FlowError('invalid', `${this.backend}: ${message} in console name "${this.name}"; e.g. "${EXAMPLES[this.backend]}"`);
    return undefined;
  }

  private take(key: string): string | undefined {
    const values = this.params.get(key);
    if (!values) return undefined;
    this.params.delete(key);
    if (values.length > 1) return this.fail(`parameter "${key}" is given ${values.length} times`);
    return values[0];
  }

  all(key: string): string[] | undefined {
    const values = this.params.get(key);
    this.params.delete(key);
    return values;
  }

  string(key: string): string | undefined {
    const v = this.take(key);
    if (v === '') return this.fail(`parameter "${key}" is empty`);
    return v;
  }

  integer(key: string, min: number, max: number): number | undefined {
    const v = this.take(key);
    if (v === undefined) return undefined;
    const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
    if (!(n >= min && n <= max)) return this.fail(`"${key}" must be an integer from ${min} to ${max}, got "${v}"`);
    return n;
  }

  boolean(key: string): boolean | undefined {
    const v = this.take(key);
    if (v === undefined) return undefined;
    if (v === 'true' || v === '1' || v === 'yes') return true;
    if (v === 'false' || v === '0' || v === 'no') return false;
    return this.fail(`"${key}" must be true or false, got "${v}"`);
  }

  oneOf<T extends string | number>(key: string, allowed: readonly T[]): T | undefined {
    const v = this.take(key);
    if (v === undefined) return undefined;
    const found = allowed.find((a) => String(a) === v);
    if (found === undefined) return this.fail(`"${key}" must be one of ${allowed.join(', ')}, got "${v}"`);
    return found;
  }

  lineEnding(): LineEnding | undefined {
    const v = this.take('lineEnding');
    if (v === undefined) return undefined;
    const le = parseLineEnding(v);
    if (le === undefined) return this.fail(`"lineEnding" must be lf, crlf or cr, got "${v}"`);
    return le;
  }

  /** The outcome: an error for the first bad or unknown parameter, else `value`. */
  finish<T>(value: T, known: readonly string[]): Result<T, FlowError> {
    if (this.error) return err(this.error);
    const unknown = [...this.params.keys()];
    if (unknown.length > 0) {
      this.fail(`unknown parameter "${unknown[0]}" (known: ${known.join(', ')})`);
      return err(this.error as unknown as FlowError);
    }
    return ok(value);
  }
}

function strip<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/**
 * Parses a console name:
 * `stdio`, `memory`, `pty:<command>` and `serial:<device>`, each with optional
 * `?key=value&...` parameters (percent-encoded). Anything malformed is an `invalid` error that
 * names the wrong part and shows a correct example.
 */
export function parseConsoleName(name: string): Result<ConsoleSpec, FlowError> {
  if (typeof name !== 'string') throw new TypeError('a console name is a string');
  if (name.length > MAX_NAME_LENGTH) return invalid(`console name is longer than ${MAX_NAME_LENGTH} characters`, EXAMPLES.serial);
  if (name.trim() === '') return invalid(`empty console name; ${GRAMMAR}`, EXAMPLES.serial);
  const q = name.indexOf('?');
  const head = q < 0 ? name : name.slice(0, q);
  const query = q < 0 ? '' : name.slice(q + 1);
  const colon = head.indexOf(':');
  const scheme = colon < 0 ? head : head.slice(0, colon);
  const target = colon < 0 ? undefined : head.slice(colon + 1);

  if (scheme !== 'stdio' && scheme !== 'pty' && scheme !== 'serial' && scheme !== 'memory') {
    return invalid(`unknown console backend "${scheme}" in "${name}"; ${GRAMMAR}`, EXAMPLES.pty);
  }
  const example = EXAMPLES[scheme];
  const parsed = parseQuery(query, name, example);
  if (!parsed.ok) return parsed;
  const p = new ParamReader(parsed.value, scheme, name);

  if (scheme === 'stdio' || scheme === 'memory') {
    if (target !== undefined) return invalid(`${scheme} takes no target, but "${name}" has ":${target}"`, example);
    if (scheme === 'stdio') {
      const options = strip({
        raw: p.boolean('raw'),
        shutdown: p.oneOf('shutdown', ['end', 'keep-open'] as const),
        lineEnding: p.lineEnding(),
      });
      return p.finish({ backend: 'stdio', options }, ['raw', 'shutdown', 'lineEnding']);
    }
    const options = strip({ capacity: p.integer('capacity', 1, 1 << 30), lineEnding: p.lineEnding() });
    return p.finish({ backend: 'memory', options }, ['capacity', 'lineEnding']);
  }

  const decoded = target === undefined ? undefined : decode(target);
  const what = scheme === 'pty' ? 'a command' : 'a device path';
  if (decoded === undefined || decoded === '') {
    return invalid(`${scheme} needs ${what} after "${scheme}:", got "${name}"`, example);
  }
  if (decoded.includes('\0')) return invalid(`${what} may not contain a NUL byte`, example);

  if (scheme === 'pty') {
    const args = p.all('arg');
    const options = strip({
      args,
      cols: p.integer('cols', 1, 65535),
      rows: p.integer('rows', 1, 65535),
      cwd: p.string('cwd'),
      term: p.string('term'),
      eof: p.oneOf('eof', ['eof-char', 'none'] as const),
      lineEnding: p.lineEnding(),
    });
    return p.finish({ backend: 'pty', command: decoded, options }, ['arg', 'cols', 'rows', 'cwd', 'term', 'eof', 'lineEnding']);
  }

  const options: SerialNameOptions = strip({
    baudRate: p.integer('baud', 1, 100_000_000),
    dataBits: p.oneOf<DataBits>('dataBits', [5, 6, 7, 8]),
    parity: p.oneOf<Parity>('parity', ['none', 'even', 'odd', 'mark', 'space']),
    stopBits: p.oneOf<StopBits>('stopBits', [1, 1.5, 2]),
    rtscts: p.boolean('rtscts'),
    xon: p.boolean('xon'),
    xoff: p.boolean('xoff'),
    lineEnding: p.lineEnding(),
  });
  return p.finish({ backend: 'serial', path: decoded, options }, [
    'baud',
    'dataBits',
    'parity',
    'stopBits',
    'rtscts',
    'xon',
    'xoff',
    'lineEnding',
  ]);
}
