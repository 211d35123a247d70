import { abortedError, err, FlowError, ok, type Result } from '@flow/core';
import { guidToBytes } from '../address/guid';
import type { HypervAddress } from '../address/types';
import { formatAddress } from '../address/uri';
import { checkSocketFlowOptions, type SocketFlow, type SocketFlowOptions } from '../socket-flow';
import type { HypervBinding, HypervSocketHandle } from './binding';
import { currentHypervHost, hypervBindingOn, type HypervHost } from './host';
import { checkHypervAddress, createHypervSocket, hypervFlow, localAddressOf } from './socket-flow';
import { windowsSocketError } from './wsa-errors';

/** The most `HVSOCKET_CONNECT_TIMEOUT` takes: 5 minutes (`HVSOCKET_CONNECT_TIMEOUT_MAX`). */
export const HVSOCKET_CONNECT_TIMEOUT_MAX = 300000;

export interface HypervConnectOptions extends SocketFlowOptions {
  /**
   * Give up after this many ms (a `timeout` error). It also becomes Windows' own
   * `HVSOCKET_CONNECT_TIMEOUT` (at most 300000 ms). Without it Windows' default applies.
   * Upstream's reason for a timeout: a connect can hang when the listener starts after it
   * (ocaml-hvsock PR #3 and #44).
   */
  readonly timeoutMs?: number;
  /** `HVSOCKET_CONNECTED_SUSPEND`: keep the connection when the VM is paused. Default false. */
  readonly connectedSuspend?: boolean;
  /** Abandon the attempt (the socket is closed); the result is an `aborted` error. */
  readonly signal?: AbortSignal;
}

/**
 * Connects a Hyper-V socket (AF_HYPERV) on Windows: to a service in a VM from its host
 * (`vmId` = the VM's id), or to the host from a Windows guest (`vmId` = parent). Resolves with
 * the flow or a typed error: `refused` (nothing listens, or the service id is not registered),
 * `timeout`, `unreachable`, `aborted`, or `unsupported` off Windows, with the `vsock://` URI a
 * Linux guest uses instead. Never rejects; throws only for bad arguments.
 */
export function connectHyperv(address: HypervAddress, options: HypervConnectOptions = {}): Promise<Result<SocketFlow, FlowError>> {
  return connectHypervOn(currentHypervHost(), address, options);
}

/** `connectHyperv` on a given host (the platform and the addon); for tests and embedders. */
export async function connectHypervOn(host: HypervHost, address: HypervAddress, options: HypervConnectOptions = {}): Promise<Result<SocketFlow, FlowError>> {
  const target = checkHypervAddress(address);
  checkSocketFlowOptions(options);
  const { timeoutMs, signal } = options;
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs >= 0)) throw new RangeError(`timeoutMs must be a finite number >= 0, got ${String(timeoutMs)}`);
  const loaded = hypervBindingOn(host, target, 'connect');
  if (!loaded.ok) return loaded;
  if (signal?.aborted) return err(abortedError(signal.reason));
  const binding = loaded.value;
  const name = formatAddress(target);

  const created = createHypervSocket(binding, `cannot connect to ${name}`);
  if (!created.ok) return created;
  const handle = created.value;
  const fail = (e: FlowError): Result<SocketFlow, FlowError> => {
    binding.hvClose(handle);
    return err(e);
  };
  if (timeoutMs !== undefined && timeoutMs > 0) {
    const ms = Math.min(Math.ceil(timeoutMs), HVSOCKET_CONNECT_TIMEOUT_MAX);
    const r = binding.hvSetConnectTimeout(handle, ms);
    if (r < 0) return fail(windowsSocketError(r, 'setsockopt', `cannot set HVSOCKET_CONNECT_TIMEOUT to ${ms} ms`));
  }
  if (options.connectedSuspend === true) {
    const r = binding.hvSetConnectedSuspend(handle, 1);
    if (r < 0) return fail(windowsSocketError(r, 'setsockopt', 'cannot set HVSOCKET_CONNECTED_SUSPEND'));
  }

  const outcome = await attempt(binding, handle, target, timeoutMs, signal);
  if (outcome !== 0) {
    if (outcome === 'aborted') return fail(abortedError(signal?.reason));
    if (outcome === 'timeout') {
      return fail(new FlowError('timeout', `connection attempt to ${name} timed out after ${String(timeoutMs)} ms: ${TIMEOUT_HINT}`, { code: 'ETIMEDOUT', syscall: 'connect' }));
    }
    return fail(connectError(outcome, target));
  }
  return ok(hypervFlow(binding, handle, options, target, localAddressOf(binding, handle)));
}

const TIMEOUT_HINT = 'the VM may be off or still starting, or nothing listens on the service yet';

/**
 * Runs the connect: 0 once connected, the negative Windows error it failed with, or why we gave
 * up. Giving up closes the socket, which ends the pending ConnectEx; its late callback is ignored.
 */
function attempt(
  binding: HypervBinding,
  handle: HypervSocketHandle,
  target: HypervAddress,
  timeoutMs: number | undefined,
  signal: AbortSignal | undefined,
): Promise<number | 'aborted' | 'timeout'> {
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (outcome: number | 'aborted' | 'timeout'): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (typeof outcome !== 'number') binding.hvClose(handle);
      resolve(outcome);
    };
    const onAbort = (): void => settle('aborted');
    const started = binding.hvConnect(handle, guidToBytes(target.vmId), guidToBytes(target.serviceId), (status) => settle(status < 0 ? status : 0));
    if (started < 0) {
      settle(started);
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) timer = setTimeout(() => settle('timeout'), timeoutMs);
  });
}

/** A failed connect, with what usually causes it on Hyper-V. */
function connectError(code: number, target: HypervAddress): FlowError {
  const e = windowsSocketError(code, 'connect', `cannot connect to ${formatAddress(target)}`);
  let hint: string | undefined;
  if (e.kind === 'refused') {
    hint = `nothing listens on service ${target.serviceId} there, or the service id is not registered on the Windows host (registerServiceCommand() prints the PowerShell, which needs Administrator)`;
  } else if (e.kind === 'timeout') {
    hint = `${TIMEOUT_HINT}; timeoutMs sets how long Windows waits (HVSOCKET_CONNECT_TIMEOUT, at most ${HVSOCKET_CONNECT_TIMEOUT_MAX} ms)`;
  } else if (e.kind === 'unreachable') {
    hint = `no running partition with VM id ${target.vmId} is reachable from here (vmIdLookupCommand() prints the PowerShell that finds a VM's id)`;
  }
  if (hint === undefined) return e;
  return new FlowError(e.kind, `${e.message}: ${hint}`, { code: e.code, errno: e.errno, syscall: e.syscall, cause: e.cause });
}
