import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './usage-error';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

export interface ParsedCommandLine {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

/**
 * `node:util` parseArgs in strict mode, with its errors turned into usage errors that name the
 * offending option and show the command's usage line as the example.
 */
export function parseCommandLine(
  args: readonly string[],
  options: OptionsConfig,
  command: string,
  usage: string,
): ParsedCommandLine {
  try {
    const { values, positionals } = parseArgs({ args: joinNegativeValues(args, options), options, allowPositionals: true, strict: true });
    return { values: values as Record<string, string | boolean | string[] | undefined>, positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // parseArgs explains itself well ("Unknown option '--x'", "Option '--y <value>' argument
    // missing"), but also suggests "--" which only confuses here; keep the first sentence.
    const first = message.split(/\.\s/)[0]?.replace(/\.$/, '') ?? message;
    throw new UsageError(`flow ${command}: ${first}`, usage, command);
  }
}

/**
 * `--name -5` as `--name=-5`: parseArgs takes a value that starts with a dash for an option and
 * calls it "ambiguous"; joined, the value reaches the option's own check, which says what is
 * wrong with it.
 */
function joinNegativeValues(args: readonly string[], options: OptionsConfig): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] as string;
    const next = args[i + 1];
    const name = arg.startsWith('--') && !arg.includes('=') ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i += 1;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/**
 * The longest delay Node's timers can wait (2^31 - 1 ms, about 24.8 days): a longer one is
 * silently cut to 1 ms.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration in milliseconds, from an option's text: a whole number from `min` to `MAX_TIMER_MS`. */
export function milliseconds(
  text: string | boolean | string[] | undefined,
  name: string,
  command: string,
  bounds: { min: number; example: string },
): number | undefined {
  return wholeNumber(text, name, command, { ...bounds, max: MAX_TIMER_MS });
}

/** A whole number within bounds, from an option's text; a clear message otherwise. */
export function wholeNumber(
  text: string | boolean | string[] | undefined,
  name: string,
  command: string,
  bounds: { min: number; max?: number; example: string },
): number | undefined {
  if (text === undefined) return undefined;
  const value = typeof text === 'string' && /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(value) || value < bounds.min || value > max) {
    const range = bounds.max === undefined ? `of at least ${bounds.min}` : `from ${bounds.min} to ${bounds.max}`;
    const why = bounds.max === MAX_TIMER_MS && value > MAX_TIMER_MS ? ' (milliseconds; the longest wait a timer can do)' : '';
    throw new UsageError(
      `flow ${command}: --${name} must be a whole number ${range}${why}, got '${String(text)}'`,
      `--${name} ${bounds.example}`,
      command,
    );
  }
  return value;
}

/** Checks the number of positional arguments. */
export function expectPositionals(
  positionals: readonly string[],
  names: readonly string[],
  optional: number,
  command: string,
  usage: string,
): void {
  const min = names.length - optional;
  if (positionals.length < min) {
    const missing = names.slice(positionals.length, min).map((n) => `<${n}>`).join(' ');
    throw new UsageError(`flow ${command}: missing ${missing}`, usage, command);
  }
  if (positionals.length > names.length) {
    const extra = positionals.slice(names.length).map((p) => `'${p}'`).join(' ');
    throw new UsageError(`flow ${command}: unexpected argument ${extra}`, usage, command);
  }
}
