import { isPathWithin, isSpecialPath, pathSegments } from '../../xenstore/path';
import type { FireEvent } from './store-ops';

/** A registered watch. `path` is absolute (or special); `relativeTo` is set for relative watches. */
export interface SimWatch {
  readonly path: string;
  readonly token: string;
  /** The domain directory a relative watch was given against; events are reported relative to it. */
  readonly relativeTo?: string;
  /** WATCH's optional depth: events at most this many levels below `path`. */
  readonly depth?: number;
}

export function watchKey(path: string, token: string): string {
  return `${path}\0${token}`;
}

/**
 * The absolute event path `watch` reports for `fire`, or undefined if it does not match: a change
 * at or below the watched path reports the changed path; the removal of an ancestor of the
 * watched path reports the watched path itself (xenstore.txt, WATCH_EVENT).
 */
export function matchWatch(watch: SimWatch, fire: FireEvent): string | undefined {
  if (isSpecialPath(watch.path)) return undefined;
  let epath: string | undefined;
  if (isPathWithin(fire.path, watch.path)) epath = fire.path;
  else if (fire.removal && !fire.exact && isPathWithin(watch.path, fire.path)) epath = watch.path;
  if (epath === undefined) return undefined;
  if (watch.depth !== undefined && pathSegments(epath).length - pathSegments(watch.path).length > watch.depth) return undefined;
  return epath;
}

/** How the event path is sent: relative to the domain directory when the watch was relative. */
export function reportedPath(watch: SimWatch, epath: string): string {
  if (watch.relativeTo === undefined || isSpecialPath(epath)) return epath;
  return epath.startsWith(`${watch.relativeTo}/`) ? epath.slice(watch.relativeTo.length + 1) : epath;
}
