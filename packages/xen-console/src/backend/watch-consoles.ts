import type { XsClient } from '../xenstore/client-types';
import { frontendPath } from './paths';
import { parseU32, printable } from './strict-parse';

/** A console that appeared under our backend directory, or went away. */
export interface ConsoleEntry {
  /** Whether the console appeared or went away. */
  readonly kind: 'added' | 'removed';
  /** The guest's domain id. */
  readonly domid: number;
  /** The console's device number (0 only with `includePrimary`). */
  readonly devid: number;
  /** `/local/domain/<self>/backend/<name>/<domid>/<devid>`. */
  readonly backend: string;
  /** The guest's directory of the console, `/local/domain/<domid>/device/console/<devid>` (`/local/domain/<domid>/console` for devid 0). */
  readonly frontend: string;
  /**
   * The console's `name` key, if it has one, made safe to print (control characters and escape
   * sequences replaced, at most 64 characters): whoever wrote it, it is never shown raw.
   */
  readonly name?: string;
}

/** Options of {@link watchConsoles}. */
export interface WatchConsolesOptions {
  /** This domain (the backend). Default 0. */
  readonly backendDomid?: number;
  /** The backend directory's name to watch. Default `console`. */
  readonly backendName?: string;
  /** Also report primary consoles (devid 0), which xenconsoled serves unless told otherwise. Default false. */
  readonly includePrimary?: boolean;
  /** Ends the iteration. */
  readonly signal?: AbortSignal;
  /** The most consoles tracked at once; beyond it new ones are not reported. Default 4096. */
  readonly maxConsoles?: number;
}

/**
 * Every console under `/local/domain/<self>/backend/<name>/` as domains come and go: one
 * `added` entry per console that exists when the watch starts and per console created later,
 * one `removed` per console whose directory goes away (a domain destroyed, a console removed).
 * For a daemon that serves them all: `for await (const c of watchConsoles(xs)) ...`.
 */
export async function* watchConsoles(xs: XsClient, options: WatchConsolesOptions = {}): AsyncGenerator<ConsoleEntry> {
  const b = options.backendDomid ?? 0;
  const root = `/local/domain/${b}/backend/${options.backendName ?? 'console'}`;
  const max = options.maxConsoles ?? 4096;
  const watched = await xs.watch(root);
  if (!watched.ok) return;
  const watch = watched.value;
  const known = new Map<string, ConsoleEntry>();
  try {
    for (;;) {
      // Each event (including the first, on set) means: list again and report the difference.
      const now = await listConsoles(xs, root, options.includePrimary === true, max);
      for (const [key, entry] of now) {
        if (!known.has(key) && known.size < max) {
          const name = await xs.read(`${entry.frontend}/name`);
          const named: ConsoleEntry = name.ok ? { ...entry, name: printable(name.value) } : entry;
          known.set(key, named);
          yield named;
        }
      }
      for (const [key, entry] of [...known]) {
        if (!now.has(key)) {
          known.delete(key);
          yield { ...entry, kind: 'removed' };
        }
      }
      const e = await watch.next({ signal: options.signal });
      if (!e.ok) return;
    }
  } finally {
    await watch.close();
  }
}

async function listConsoles(xs: XsClient, root: string, includePrimary: boolean, max: number): Promise<Map<string, ConsoleEntry>> {
  const found = new Map<string, ConsoleEntry>();
  const domains = await xs.directory(root);
  if (!domains.ok) return found;
  for (const d of domains.value) {
    const domid = parseU32(d);
    if (domid === undefined || domid > 0x7fef) continue; // not a domain id: never trusted
    const devices = await xs.directory(`${root}/${d}`);
    if (!devices.ok) continue;
    for (const n of devices.value) {
      const devid = parseU32(n);
      if (devid === undefined || devid > 9 || (devid === 0 && !includePrimary)) continue;
      if (found.size >= max) return found;
      found.set(`${domid}/${devid}`, { kind: 'added', domid, devid, backend: `${root}/${d}/${n}`, frontend: frontendPath(domid, devid) });
    }
  }
  return found;
}
