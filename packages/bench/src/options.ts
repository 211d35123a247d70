const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
};

/** Parses `512MiB`, `64KiB`, `2GiB`, `1e6` into bytes; binary units are spelled with an `i`. */
export function parseSize(text: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new RangeError(`not a size: ${JSON.stringify(text)} (try 64KiB, 512MiB, 2GiB)`);
  const bytes = Math.round(Number(m[1]) * unit);
  if (!(bytes >= 1)) throw new RangeError(`size must be at least 1 byte: ${text}`);
  return bytes;
}

/** Parses a comma-separated list of sizes (`8192,64KiB`). */
export function parseSizeList(text: string): number[] {
  const items = text.split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (items.length === 0) throw new RangeError(`not a list of sizes: ${JSON.stringify(text)}`);
  return items.map(parseSize);
}

export function parsePositive(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`not a positive number: ${JSON.stringify(text)}`);
  return n;
}

export function parseCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`not a positive integer: ${JSON.stringify(text)}`);
  return n;
}

/**
 * Settings come from `--name=value` arguments first, then `BENCH_NAME` environment variables,
 * then the default, so that CI and humans can both scale a run without editing code.
 */
export class Settings {
  private readonly args = new Map<string, string>();

  constructor(
    argv: readonly string[],
    private readonly env: NodeJS.ProcessEnv,
  ) {
    for (const a of argv) {
      // `--name=value`, or a bare `--name`, which turns a flag on (`--verify`, `--ninep-no-pinned`).
      const m = /^--([a-z0-9-]+)(?:=(.*))?$/i.exec(a);
      if (m) this.args.set(m[1].toLowerCase(), m[2] ?? 'true');
    }
  }

  private raw(name: string): string | undefined {
    return this.args.get(name) ?? this.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  }

  size(name: string, fallback: number): number {
    const v = this.raw(name);
    return v === undefined ? fallback : parseSize(v);
  }

  count(name: string, fallback: number): number {
    const v = this.raw(name);
    return v === undefined ? fallback : parseCount(v);
  }

  text(name: string): string | undefined {
    return this.raw(name);
  }

  number(name: string, fallback: number): number {
    const v = this.raw(name);
    return v === undefined ? fallback : parsePositive(v);
  }

  flag(name: string): boolean {
    const v = this.raw(name);
    return v !== undefined && v !== '0' && v !== 'false';
  }
}

/** The positional words of the command line (`core`, `tcp`), lower-cased. */
/** The sections `main` runs by default, in that order. */
export const SECTIONS = ['core', 'tcp', 'unix', 'hybrid', 'vsock', '9p', 'xen'] as const;
/** Sections too long for a default run: run only when named. */
export const NAMED_ONLY_SECTIONS = ['9p-campaign', 'proxy-campaign'] as const;
const KNOWN: readonly string[] = [...SECTIONS, ...NAMED_ONLY_SECTIONS];

export const USAGE = `usage: node dist/main.js [section ...] [--name=value ...]

Runs the chosen sections (all of them by default) and prints one table each.
Sections: ${SECTIONS.join(', ')}; only when named: ${NAMED_ONLY_SECTIONS.join(', ')}.
Settings (also BENCH_NAME environment variables): see the package README.`;

/** The sections named on the command line; throws a RangeError naming an unknown one. */
export function chosenSections(argv: readonly string[]): string[] {
  const chosen = positionals(argv);
  const unknown = chosen.filter((s) => !KNOWN.includes(s));
  if (unknown.length > 0) throw new RangeError(`unknown section ${unknown.join(', ')} (sections: ${KNOWN.join(', ')})`);
  return chosen;
}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.some((a) => a === '--help' || a === '-h' || a === 'help');
}

export function positionals(argv: readonly string[]): string[] {
  return argv.filter((a) => !a.startsWith('-')).map((a) => a.toLowerCase());
}
