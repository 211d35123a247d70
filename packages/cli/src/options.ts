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
    const { values, positionals } = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
    return { values: values as Record<string, string | boolean | string[] | undefined>, positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // parseArgs explains itself well ("Unknown option '--x'", "Option '--y <value>' argument
    // missing"), but also suggests "--" which only confuses here; keep the first sentence.
    const first = message.split(/\.\s/)[0]?.replace(/\.$/, '') ?? message;
    throw new UsageError(`flow ${command}: ${first}`, usage, command);
  }
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
    throw new UsageError(
      `flow ${command}: --${name} must be a whole number ${range}, got '${String(text)}'`,
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
