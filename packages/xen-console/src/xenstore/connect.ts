import { stat } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { err, FlowError, fromDuplex, fromNodeError, ok, type Flow, type Result } from '@flow/core';
import { XenstoreClient, type XenstoreClientOptions } from './client';

/** Debian 12's compiled-in XEN_RUN_STORED (tools/include/xen-tools/xenstore-common.h). */
export const DEFAULT_XENSTORED_RUNDIR = '/var/run/xenstored';
/** The xenbus character device, and the /proc fallback older kernels use (libxenstore `xs_domain_dev`). */
export const XENBUS_DEVICE_PATHS = ['/dev/xen/xenbus', '/proc/xen/xenbus'] as const;

/**
 * Where libxenstore looks for xenstored (`xs_daemon_socket`): `$XENSTORED_PATH`, else
 * `$XENSTORED_RUNDIR/socket`, else `/var/run/xenstored/socket`.
 */
export function xenstoredSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XENSTORED_PATH) return env.XENSTORED_PATH;
  return `${env.XENSTORED_RUNDIR || DEFAULT_XENSTORED_RUNDIR}/socket`;
}

export interface ConnectXenstoreOptions extends XenstoreClientOptions {
  /** A socket or device path; default: found as libxenstore finds it (xenstoredSocketPath). */
  readonly path?: string;
  /** The environment to read XENSTORED_PATH / XENSTORED_RUNDIR from. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Opens the xenbus character device as a xenstore connection. Node cannot make a stream of a
 * character device without blocking a threadpool thread, so this transport needs the native
 * fd wrapper (uv_poll), which is not part of this build yet: for now this returns an
 * `unsupported` error. It is the one place to plug that wrapper in: open `path` read-write,
 * wrap the fd as a Flow (the device carries the same frames as the socket; the kernel answers
 * WATCH and UNWATCH itself) and return `new XenstoreClient(flow, { allowRelativePaths: true,
 * ...options })`, since the kernel's connection is a domain connection.
 */
export async function openXenbusDevice(path: string, _options: XenstoreClientOptions = {}): Promise<Result<XenstoreClient, FlowError>> {
  return err(
    new FlowError(
      'unsupported',
      `the xenbus character device transport (${path}) needs the native fd wrapper, which is not available in this build; ` +
        'connect to a xenstored Unix socket instead (set XENSTORED_PATH)',
      { code: 'ENOTSUP' },
    ),
  );
}

async function fileKind(path: string): Promise<'socket' | 'other' | 'missing' | FlowError> {
  try {
    const s = await stat(path);
    return s.isSocket() ? 'socket' : 'other';
  } catch (e) {
    const error = fromNodeError(e, `stat ${path}`);
    return error.code === 'ENOENT' || error.code === 'ENOTDIR' ? 'missing' : error;
  }
}

function connectSocket(path: string, options: XenstoreClientOptions): Promise<Result<XenstoreClient, FlowError>> {
  return new Promise((resolve) => {
    const socket = netConnect({ path, allowHalfOpen: true });
    const onError = (e: unknown): void => {
      socket.off('connect', onConnect);
      socket.destroy();
      resolve(err(fromNodeError(e, `connect to xenstored at ${path}`)));
    };
    const onConnect = (): void => {
      socket.off('error', onError);
      resolve(ok(new XenstoreClient(fromDuplex(socket), { label: `xenstore ${path}`, ...options })));
    };
    socket.once('error', onError);
    socket.once('connect', onConnect);
  });
}

/**
 * Connects to xenstored the way libxenstore's `xs_open` does: the socket path from
 * `options.path` or the environment; a path that is not a socket is opened as the xenbus
 * device; with no explicit path and no socket, the xenbus device is tried next. Errors are
 * values: `not-found` when there is no xenstore at all, `refused`, `permission`, `unsupported`.
 */
export async function connectXenstore(options: ConnectXenstoreOptions = {}): Promise<Result<XenstoreClient, FlowError>> {
  const explicit = options.path !== undefined;
  const path = options.path ?? xenstoredSocketPath(options.env);
  if (typeof path !== 'string' || path === '') throw new TypeError('path must be a non-empty string');
  const kind = await fileKind(path);
  if (kind instanceof FlowError) return err(kind);
  if (kind === 'socket') return connectSocket(path, options);
  if (kind === 'other') return openXenbusDevice(path, options);
  if (!explicit) {
    for (const device of XENBUS_DEVICE_PATHS) {
      if ((await fileKind(device)) === 'other') return openXenbusDevice(device, options);
    }
  }
  return err(
    new FlowError(
      'not-found',
      explicit
        ? `no xenstore at ${path}`
        : `no xenstored socket at ${path} and no ${XENBUS_DEVICE_PATHS.join(' or ')}: is this a Xen dom0? (XENSTORED_PATH names another socket)`,
      { code: 'ENOENT' },
    ),
  );
}

/** A xenstore client over any Node Duplex (an in-process pipe, a socket you opened yourself). */
export function xenstoreOverDuplex(duplex: Duplex, options: XenstoreClientOptions = {}): XenstoreClient {
  return new XenstoreClient(fromDuplex(duplex), options);
}

/** A xenstore client over a flow. */
export function xenstoreOverFlow(flow: Flow, options: XenstoreClientOptions = {}): XenstoreClient {
  return new XenstoreClient(flow, options);
}
