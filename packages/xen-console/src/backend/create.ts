import { err, FlowError, OK, ok, type Result } from '@flow/core';
import type { XsClient, XsOps, XsPerm } from '../xenstore/client-types';
import { backendPath, checkDevid, checkDomid, frontendPath, XenbusState } from './paths';

/** Options of {@link createConsole} and {@link consoleNodes}. */
export interface CreateOptions {
  /** The guest. */
  readonly domid: number;
  /** The console device: 1-9 (Linux guests parse one digit). The primary console (0) is the toolstack's. */
  readonly devid: number;
  /** The domain that serves the console (this one). Default 0. */
  readonly backendDomid?: number;
  /** The backend directory's name, `console` by default; another name avoids QEMU's. */
  readonly backendName?: string;
  /** The console's `name` key, which guests may use to find it. */
  readonly name?: string;
  /** The `limit` key: the most output bytes buffered for the guest's console. Default 1 MiB. */
  readonly limit?: number;
  /**
   * The `type` key. Default `flow`: not `xenconsoled` or `ioemu`, so that xenconsoled, xl and
   * QEMU leave the device alone (the Linux frontend does not look at it).
   */
  readonly type?: string;
  /** Retries after a conflicting transaction (a guest writing meanwhile). Default 16. */
  readonly maxRetries?: number;
}

/** The console's `limit` key unless told otherwise: 1 MiB of output buffered for the guest. */
export const DEFAULT_LIMIT = 1048576;

/** A xenstore node of a console: a key, its value, and who owns it. */
export interface ConsoleNode {
  /** The node's absolute xenstore path. */
  readonly path: string;
  /** The value written (`''` for a directory). */
  readonly value: string;
  /** The permissions set on it: the owner first, then who else may read. */
  readonly perms: readonly XsPerm[];
}

/**
 * The nodes of a secondary console, as libxl and mirage's Conproto write them: the backend's
 * directory owned by the backend and readable by the guest; the guest's directory owned by the
 * guest (so that it can write `ring-ref`, `port` and `state`) and readable by the backend; the
 * keys the guest must not change (`limit`, `type`, `output`, `tty`, `name`) owned by the backend.
 */
export function consoleNodes(options: CreateOptions): {
  /** The guest's directory, `/local/domain/<domid>/device/console/<devid>`. */
  front: string;
  /** The backend's directory, `/local/domain/<backendDomid>/backend/<backendName>/<domid>/<devid>`. */
  back: string;
  /** The two directories, written first. */
  dirs: ConsoleNode[];
  /** The keys in them, with their values and owners. */
  keys: ConsoleNode[];
} {
  const domid = checkDomid(options.domid);
  const devid = checkDevid(options.devid);
  if (devid === 0) throw new RangeError('devid 0 is the primary console, which the toolstack creates; create secondary consoles 1-9');
  const b = checkDomid(options.backendDomid ?? 0, 'backendDomid');
  const name = options.backendName ?? 'console';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new RangeError(`backendName must be 1-64 letters, digits, - or _, got ${JSON.stringify(name)}`);
  const limit = options.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${String(limit)}`);
  const type = options.type ?? 'flow';
  if (type === 'xenconsoled' || type === 'ioemu') throw new RangeError(`type ${type} would hand the console to ${type === 'ioemu' ? 'QEMU' : 'xenconsoled'}`);
  const front = frontendPath(domid, devid);
  const back = backendPath(b, name, domid, devid);
  const guestOwned: XsPerm[] = [{ access: 'n', domid }, { access: 'r', domid: b }];
  const backendOwned: XsPerm[] = [{ access: 'n', domid: b }, { access: 'r', domid }];
  const dirs: ConsoleNode[] = [
    { path: back, value: '', perms: backendOwned },
    { path: front, value: '', perms: guestOwned },
  ];
  const keys: ConsoleNode[] = [
    { path: `${back}/frontend`, value: front, perms: backendOwned },
    { path: `${back}/frontend-id`, value: String(domid), perms: backendOwned },
    { path: `${back}/online`, value: '1', perms: backendOwned },
    { path: `${back}/state`, value: String(XenbusState.Initialising), perms: backendOwned },
    { path: `${back}/protocol`, value: 'vt100', perms: backendOwned },
    { path: `${front}/backend`, value: back, perms: guestOwned },
    { path: `${front}/backend-id`, value: String(b), perms: guestOwned },
    { path: `${front}/state`, value: String(XenbusState.Initialising), perms: guestOwned },
    { path: `${front}/protocol`, value: 'vt100', perms: guestOwned },
    // Read-only to the guest.
    { path: `${front}/limit`, value: String(limit), perms: backendOwned },
    { path: `${front}/type`, value: type, perms: backendOwned },
    { path: `${front}/output`, value: 'pty', perms: backendOwned },
    { path: `${front}/tty`, value: '', perms: backendOwned },
  ];
  if (options.name !== undefined) {
    if (!/^[\x20-\x7e]{1,64}$/.test(options.name)) throw new RangeError('name must be 1-64 printable ASCII characters');
    keys.push({ path: `${front}/name`, value: options.name, perms: backendOwned });
  }
  return { front, back, dirs, keys };
}

async function writeAll(tx: XsOps, nodes: { dirs: ConsoleNode[]; keys: ConsoleNode[]; front: string; back: string }): Promise<Result<void, FlowError>> {
  // Start clean, as libxl does: stale keys of an earlier console must not survive.
  for (const dir of [nodes.front, nodes.back]) {
    const r = await tx.rm(dir);
    if (!r.ok && r.error.code !== 'ENOENT') return r;
  }
  for (const d of nodes.dirs) {
    const made = await tx.mkdir(d.path);
    if (!made.ok) return made;
    const perms = await tx.setPerms(d.path, d.perms);
    if (!perms.ok) return perms;
  }
  for (const k of nodes.keys) {
    const written = await tx.write(k.path, k.value);
    if (!written.ok) return written;
    const perms = await tx.setPerms(k.path, k.perms);
    if (!perms.ok) return perms;
  }
  return OK;
}

/**
 * Creates a secondary console for a guest: every node and its permissions in ONE transaction.
 * (A Linux frontend that sees its nodes before their permissions fails with EACCES for good.)
 * A conflict retries a bounded number of times. Resolves with the two directories.
 */
export async function createConsole(xs: XsClient, options: CreateOptions): Promise<
  Result<
    {
      /** The guest's directory of the console. */
      frontend: string;
      /** The backend's directory of the console. */
      backend: string;
    },
    FlowError
  >
> {
  const nodes = consoleNodes(options);
  const r = await xs.transaction((tx) => writeAll(tx, nodes), { maxRetries: options.maxRetries ?? 16 });
  if (!r.ok) return err(new FlowError(r.error.kind, `creating the console of domain ${options.domid} (device ${options.devid}) failed: ${r.error.message}`, { code: r.error.code, cause: r.error }));
  return ok({ frontend: nodes.front, backend: nodes.back });
}

/** Removes both directories of a console (mirage's `destroy`), in one transaction. */
export async function destroyConsole(
  xs: XsClient,
  options: Pick<CreateOptions, 'domid' | 'devid' | 'backendDomid' | 'backendName' | 'maxRetries'>,
): Promise<Result<void, FlowError>> {
  const front = frontendPath(checkDomid(options.domid), checkDevid(options.devid));
  const back = backendPath(checkDomid(options.backendDomid ?? 0, 'backendDomid'), options.backendName ?? 'console', options.domid, options.devid);
  return xs.transaction(
    async (tx) => {
      for (const dir of [front, back]) {
        const r = await tx.rm(dir);
        if (!r.ok && r.error.code !== 'ENOENT') return r;
      }
      return OK;
    },
    { maxRetries: options.maxRetries ?? 16 },
  );
}

/** Asks the guest to close (backend state Closing), as mirage's `request_close`. */
export function requestClose(xs: XsClient, backend: string): Promise<Result<void, FlowError>> {
  return xs.write(`${backend}/state`, String(XenbusState.Closing));
}

/** Forces the frontend to Closed, as mirage's `force_close` (needs write access to the guest's node: dom0). */
export function forceClose(xs: XsClient, frontend: string): Promise<Result<void, FlowError>> {
  return xs.write(`${frontend}/state`, String(XenbusState.Closed));
}
