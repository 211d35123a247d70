/** The line endings `log` can append: LF (unix, solo5), CRLF (xen, serial terminals), CR (the Enter key). */
export type LineEnding = '\n' | '\r\n' | '\r';

const BY_NAME: Readonly<Record<string, LineEnding>> = { lf: '\n', crlf: '\r\n', cr: '\r' };

/** Parses `lf`, `crlf` or `cr` (as written in a console name); undefined for anything else. */
export function parseLineEnding(name: string): LineEnding | undefined {
  return BY_NAME[name.toLowerCase()];
}

export function isLineEnding(value: unknown): value is LineEnding {
  return value === '\n' || value === '\r\n' || value === '\r';
}

/** Programmer error: a line ending outside the three supported ones. */
export function checkLineEnding(value: unknown, fallback: LineEnding): LineEnding {
  if (value === undefined) return fallback;
  if (!isLineEnding(value)) throw new TypeError('lineEnding must be "\\n", "\\r\\n" or "\\r"');
  return value;
}
