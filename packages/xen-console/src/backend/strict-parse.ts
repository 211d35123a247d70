/**
 * Strict parsing of numbers a guest wrote into xenstore. xenconsoled's `sscanf("%u")` takes
 * "12abc" as 12; a value that is not exactly a decimal u32 is refused here.
 */
export function parseU32(text: string | undefined): number | undefined {
  if (text === undefined || !/^(0|[1-9][0-9]{0,9})$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 0xffffffff ? n : undefined;
}

/** A XenbusState value (0-8), or undefined for anything else (empty, junk, out of range). */
export function parseState(text: string | undefined): number | undefined {
  return text !== undefined && /^[0-8]$/.test(text) ? Number(text) : undefined;
}

/**
 * A name a guest may control (node names, `name`), made safe to print: control characters,
 * escape sequences, and invisible characters that reorder or hide text on a terminal (bidi
 * overrides, zero-width and line/paragraph separators, lone surrogates) become `?`, and it is
 * cut at 64 characters.
 */
export function printable(text: string): string {
  const clean = text.replace(/[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu, '?');
  const chars = Array.from(clean);
  return chars.length > 64 ? `${chars.slice(0, 61).join('')}...` : clean;
}
