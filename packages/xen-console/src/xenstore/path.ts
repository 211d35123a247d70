import { err, FlowError, ok, type Result } from '@flow/core';
import { XENSTORE_ABS_PATH_MAX, XENSTORE_REL_PATH_MAX } from './limits';

/** The watch-only paths xenstored invents events for (docs/misc/xenstore.txt, "Watches"). */
export const SPECIAL_PATHS = ['@introduceDomain', '@releaseDomain'] as const;
/** `@introduceDomain` or `@releaseDomain`. */
export type SpecialPath = (typeof SPECIAL_PATHS)[number];

/** True if `path` is one of the {@link SPECIAL_PATHS}. */
export function isSpecialPath(path: string): path is SpecialPath {
  return path === '@introduceDomain' || path === '@releaseDomain';
}

/** Options of {@link checkPath}. */
export interface PathCheckOptions {
  /** Paths without a leading `/`, relative to `/local/domain/<domid>`: only on domain connections. */
  readonly allowRelative?: boolean;
  /** `@introduceDomain` and `@releaseDomain` (for watches and their permissions). */
  readonly allowSpecial?: boolean;
}

// ASCII alphanumerics and -/_@ only (xenstore.txt; xenstored's is_valid_nodename).
const PATH_CHARSET = /^[A-Za-z0-9\-/_@]*$/;

function invalid(message: string): Result<never, FlowError> {
  return err(new FlowError('invalid', message, { code: 'EINVAL' }));
}

/**
 * Checks a path as xenstored does: not empty; only alphanumerics and `-/_@`; no `//`; no
 * trailing `/` except the root itself; absolute paths at most 3072 bytes, relative ones at most
 * 2048. Returns an `invalid` error (code EINVAL) that says what is wrong.
 */
export function checkPath(path: string, options: PathCheckOptions = {}): Result<void, FlowError> {
  if (typeof path !== 'string') throw new TypeError('a xenstore path must be a string');
  if (path === '') return invalid('a xenstore path must not be empty');
  if (isSpecialPath(path)) {
    return options.allowSpecial ? ok(undefined) : invalid(`${path} is a special watch path, not a node`);
  }
  if (path.startsWith('@')) {
    // Only the two special names exist (@releaseDomain/<domid> needs a feature not simulated here).
    return invalid(`${JSON.stringify(shorten(path))} is not a known special watch path (@introduceDomain, @releaseDomain)`);
  }
  if (!PATH_CHARSET.test(path)) {
    return invalid(`xenstore path ${JSON.stringify(shorten(path))} has a character outside A-Z a-z 0-9 - / _ @`);
  }
  const absolute = path.startsWith('/');
  if (!absolute && !options.allowRelative) {
    return invalid(`xenstore path ${JSON.stringify(shorten(path))} is relative; only domain connections may use relative paths`);
  }
  const max = absolute ? XENSTORE_ABS_PATH_MAX : XENSTORE_REL_PATH_MAX;
  if (path.length > max) return invalid(`xenstore path of ${path.length} bytes is over the limit of ${max}`);
  if (path.includes('//')) return invalid(`xenstore path ${JSON.stringify(shorten(path))} has an empty component (//)`);
  if (path !== '/' && path.endsWith('/')) return invalid(`xenstore path ${JSON.stringify(shorten(path))} ends with /`);
  return ok(undefined);
}

function shorten(path: string): string {
  return path.length > 80 ? `${path.slice(0, 77)}...` : path;
}

/** The components of an absolute path: `/` → [], `/a/b` → ['a', 'b']. */
export function pathSegments(path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

/** The absolute path of `segments`. */
export function segmentsToPath(segments: readonly string[]): string {
  return `/${segments.join('/')}`;
}

/** The parent of an absolute path; undefined for the root. */
export function parentPath(path: string): string | undefined {
  if (path === '/') return undefined;
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

/** Whether `path` is `ancestor` or below it (xenstore.txt's "child": a path is its own child). */
export function isPathWithin(path: string, ancestor: string): boolean {
  if (ancestor === '/') return path.startsWith('/');
  return path === ancestor || path.startsWith(`${ancestor}/`);
}

/** `base` + `/` + `name`, for absolute `base`. */
export function joinPath(base: string, name: string): string {
  return base === '/' ? `/${name}` : `${base}/${name}`;
}
