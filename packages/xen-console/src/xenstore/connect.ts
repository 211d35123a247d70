import { stat } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { err, FlowError, fromDuplex, fromNodeError, ok, type Flow, type Result } from '@flow/core';
import { openFdStreamFlow } from '../platform/fd-stream-flow';
import { loadXenBinding } from '../platform/native-load';
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
 * Opens the xenbus character device (or any path that is not a socket) as a xenstore
 * connection. Node cannot make a net.Socket of a character device, and a blocking read on the
 * threadpool would pin a thread and make close hang; so this uses the addon's non-blocking byte
 * stream (uv_poll). The device carries the same frames as the socket; the kernel's connection
 * is a domain connection, so relative paths are allowed; the client knows the device's two
 * differences (`xenbusDevice`). Errors are values: `not-found` (no such path), `permission`,
 * `unsupported` (not a device, or no addon on this system).
 */
export async function openXenbusDevice(path: string, options: XenstoreClientOptions = {}): Promise<Result<XenstoreClient, FlowError>> {
  if (typeof path !== 'string' || path === '') throw new TypeError('path must be a non-empty string');
  const binding = loadXenBinding();
  if (!binding.ok) return binding;
  const flow = openFdStreamFlow(binding.value, path, { label: `xenbus ${path}` });
  if (!flow.ok) return err(deviceOpenError(flow.error, path));
  return ok(new XenstoreClient(flow.value, { label: `xenstore ${path}`, allowRelativePaths: true, xenbusDevice: true, ...options }));
}

function deviceOpenError(error: FlowError, path: string): FlowError {
  const options = { code: error.code, errno: error.errno, syscall: 'open', cause: error };
  switch (error.code) {
    case 'ENOENT':
      return new FlowError('not-found', `no xenbus device at ${path} (is this a Xen domain with the xenfs or xen-xenbus driver?)`, options);
    case 'ENODEV':
      return new FlowError('unsupported', `${path} is not a xenbus device: it cannot be polled (a regular file?)`, options);
    case 'EISDIR':
      return new FlowError('unsupported', `${path} is a directory, not a xenbus device`, options);
    case 'EACCES':
    case 'EPERM':
      return new FlowError('permission', `cannot open ${path}: ${error.code} (the xenbus device needs root)`, options);
    default:
      return new FlowError(error.kind, `cannot open ${path} as the xenbus device: ${error.code ?? error.message}`, options);
  }
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
 * The path libxenstore's `xs_domain_dev` names on Linux: `$XENSTORED_PATH`, else
 * /dev/xen/xenbus when it exists, else /proc/xen/xenbus (xenfs on older kernels).
 */
export async function xenbusDevicePath(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.XENSTORED_PATH) return env.XENSTORED_PATH;
  return (await fileKind(XENBUS_DEVICE_PATHS[0])) === 'missing' ? XENBUS_DEVICE_PATHS[1] : XENBUS_DEVICE_PATHS[0];
}

/**
 * libxenstore's `get_handle`: a socket gets a connection, anything else that exists is opened
 * as the xenbus device.
 */
async function openPath(path: string, options: XenstoreClientOptions): Promise<Result<XenstoreClient, FlowError> | 'missing'> {
  const kind = await fileKind(path);
  if (kind === 'missing') return 'missing';
  if (kind instanceof FlowError) return err(kind);
  return kind === 'socket' ? connectSocket(path, options) : openXenbusDevice(path, options);
}

/**
 * Connects to xenstore the way libxenstore's `xs_open` does (tools/libs/store/xs.c): first the
 * daemon socket (`options.path`, else xenstoredSocketPath), then, if that fails in any way,
 * the xenbus device (xenbusDevicePath). Each is a socket if it is one, and otherwise opened as
 * the device. An explicit `options.path` is the only place tried. Errors are values: when both
 * fail, the first failure other than "does not exist" (`refused`, `permission`,
 * `unsupported`...), else `not-found` naming both places.
 */
export async function connectXenstore(options: ConnectXenstoreOptions = {}): Promise<Result<XenstoreClient, FlowError>> {
  if (options.path !== undefined) {
    if (typeof options.path !== 'string' || options.path === '') throw new TypeError('path must be a non-empty string');
    const opened = await openPath(options.path, options);
    return opened === 'missing' ? err(new FlowError('not-found', `no xenstore at ${options.path}`, { code: 'ENOENT' })) : opened;
  }
  const socket = xenstoredSocketPath(options.env);
  const first = await openPath(socket, options);
  if (first !== 'missing' && first.ok) return first;
  const device = await xenbusDevicePath(options.env);
  const second = await openPath(device, options);
  if (second !== 'missing' && second.ok) return second;
  if (first !== 'missing') return first;
  if (second !== 'missing') return second;
  return err(
    new FlowError(
      'not-found',
      `no xenstored socket at ${socket} and no xenbus device at ${device}: is this a Xen domain? (XENSTORED_PATH names another socket)`,
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
