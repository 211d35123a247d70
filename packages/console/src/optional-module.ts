import { FlowError, err, ok, type Result } from '@flow/core';

/**
 * Loads an optional peer dependency on first use. A missing module is an `unsupported` error
 * that says what to install; any other load failure (a native addon built for another Node)
 * is an `io` error carrying the cause.
 */
export function loadOptional<T>(name: string, purpose: string, check: (mod: unknown) => mod is T): Result<T, FlowError> {
  let mod: unknown;
  try {
    // A require at call time, not an import: the module is loaded only by the backend that
    // needs it, and a program that never opens that backend never needs it installed.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(name) as unknown;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const missing = code === 'MODULE_NOT_FOUND' && String((e as Error).message).includes(`'${name}'`);
    if (missing) {
      return err(
        new FlowError('unsupported', `${purpose} needs the optional package "${name}": run \`npm install ${name}\``, {
          code: 'MODULE_NOT_FOUND',
          cause: e,
        }),
      );
    }
    return err(new FlowError('io', `loading "${name}" failed: ${(e as Error).message}`, { cause: e }));
  }
  if (!check(mod)) {
    return err(new FlowError('unsupported', `"${name}" does not have the API ${purpose} needs`));
  }
  return ok(mod);
}
