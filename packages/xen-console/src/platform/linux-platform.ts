import { setTimeout as delay } from 'node:timers/promises';
import { err, FlowError, ok, type Result } from '@flow/core';
import type { MappedPage } from '../ring/memory';
import { connectXenstore, type XsClient } from '../xenstore';
import { evtchnDispatcherFor, type EvtchnDispatcher } from './linux-evtchn';
import type { XenBinding } from './native-binding';
import { xenDevicesAvailable } from './native-devices';
import { errnoError } from './native-errors';
import { loadXenBinding } from './native-load';
import { NativePage } from './native-page';
import type { EvtPort, XenPlatform } from './types';

/** domid_t values from DOMID_FIRST_RESERVED (0x7FF0: DOMID_SELF, DOMID_IO, ...) name no real domain. */
const MAX_DOMID = 0x7fef;
/** A paged-out grant gives EAGAIN (after the addon's own ~10 ms of retries): retried this often... */
const MAP_EAGAIN_RETRIES = 10;
/** ...this long apart, without blocking the event loop. */
const MAP_EAGAIN_DELAY_MS = 20;
const EAGAIN = 11;

/** Options of the {@link LinuxPlatform} constructor. */
export interface LinuxPlatformOptions {
  /** This domain's id; when absent it is read from xenstore (the relative key `domid`). */
  readonly selfDomid?: number;
  /**
   * How to open a xenstore connection; by default as libxenstore does: the xenstored socket
   * (`XENSTORED_PATH`, `XENSTORED_RUNDIR`, /var/run/xenstored/socket), else the xenbus device.
   */
  readonly connectXenstore?: () => Promise<Result<XsClient, FlowError>>;
}

/**
 * The real platform, for a Linux dom0 or driver domain: grants are mapped through
 * /dev/xen/gntdev and event channels bound through /dev/xen/evtchn (the addon, loaded on first
 * use), and xenstore is the TypeScript client on the local socket or the xenbus device.
 *
 * The devices are opened once per thread and stay open (closing evtchn would unbind every
 * port); `close()` releases what this platform mapped and bound.
 */
export class LinuxPlatform implements XenPlatform {
  readonly selfDomid: number;
  readonly #binding: XenBinding;
  readonly #evtchn: EvtchnDispatcher;
  readonly #connect: () => Promise<Result<XsClient, FlowError>>;
  readonly #pages = new Set<NativePage>();
  readonly #ports = new Set<EvtPort>();
  #closed = false;

  private constructor(binding: XenBinding, selfDomid: number, connect: () => Promise<Result<XsClient, FlowError>>) {
    this.#binding = binding;
    this.#evtchn = evtchnDispatcherFor(binding);
    this.selfDomid = selfDomid;
    this.#connect = connect;
  }

  /**
   * Whether this machine can run the real platform: Linux, the addon present (prebuilt or built
   * here), and Xen's devices there. The error is typed and says which of these is missing, e.g.
   * kind `unsupported`, code ENOENT, "no Xen: /dev/xen/gntdev does not exist (...)".
   */
  static available(): Result<void, FlowError> {
    const binding = loadXenBinding();
    if (!binding.ok) return binding;
    return xenDevicesAvailable(binding.value);
  }

  /** Checks `available()`, then learns `selfDomid` (unless given) and returns the platform. */
  static async open(options: LinuxPlatformOptions = {}): Promise<Result<LinuxPlatform, FlowError>> {
    const binding = loadXenBinding();
    if (!binding.ok) return binding;
    const devices = xenDevicesAvailable(binding.value);
    if (!devices.ok) return devices;
    return LinuxPlatform.openWith(binding.value, options);
  }

  /**
   * The platform over a given addon binding, without the device check (tests hand in a binding
   * whose devices are stand-ins). Applications use `open()`.
   * @internal
   */
  static async openWith(binding: XenBinding, options: LinuxPlatformOptions = {}): Promise<Result<LinuxPlatform, FlowError>> {
    const connect = options.connectXenstore ?? (() => connectXenstore());
    if (options.selfDomid !== undefined) {
      checkDomid(options.selfDomid, 'selfDomid');
      return ok(new LinuxPlatform(binding, options.selfDomid, connect));
    }
    const selfDomid = await readSelfDomid(connect);
    if (!selfDomid.ok) return selfDomid;
    return ok(new LinuxPlatform(binding, selfDomid.value, connect));
  }

  /** A fresh xenstore connection; the caller closes it. */
  xenstore(): Promise<Result<XsClient, FlowError>> {
    if (this.#closed) return Promise.resolve(err(platformClosed()));
    return this.#connect();
  }

  mapGrant(domid: number, ref: number, options: { readonly writable: boolean }): Promise<Result<MappedPage, FlowError>> {
    checkDomid(domid, 'domid');
    checkU32(ref, 'ref');
    if (typeof options?.writable !== 'boolean') throw new TypeError('options.writable must be a boolean');
    return this.#mapGrant(domid, ref, options.writable);
  }

  async #mapGrant(domid: number, ref: number, writable: boolean): Promise<Result<MappedPage, FlowError>> {
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) return err(platformClosed());
      const mapped = this.#binding.mapGrant(domid, ref, writable);
      if (typeof mapped !== 'number') {
        const page: NativePage = new NativePage(this.#binding, mapped, {
          writable,
          description: `grant ${ref} of domain ${domid}`,
          onUnmap: () => this.#pages.delete(page),
        });
        this.#pages.add(page);
        return ok(page);
      }
      if (mapped !== -EAGAIN || attempt >= MAP_EAGAIN_RETRIES) {
        // The addon does not say whether the map ioctl or the mmap refused: both are named.
        return err(errnoError(mapped, undefined, `mapping grant ${ref} of domain ${domid} (gntdev map ioctl and mmap)`));
      }
      await delay(MAP_EAGAIN_DELAY_MS);
    }
  }

  bindInterdomain(domid: number, remotePort: number): Promise<Result<EvtPort, FlowError>> {
    checkDomid(domid, 'domid');
    checkU32(remotePort, 'remotePort');
    return Promise.resolve(this.#track(() => this.#evtchn.bindInterdomain(domid, remotePort)));
  }

  bindUnbound(remoteDomid: number): Promise<Result<EvtPort, FlowError>> {
    checkDomid(remoteDomid, 'remoteDomid');
    return Promise.resolve(this.#track(() => this.#evtchn.bindUnbound(remoteDomid)));
  }

  /** Unmaps every page and unbinds every port this platform made; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const page of [...this.#pages]) page.unmap();
    for (const port of [...this.#ports]) port.close();
  }

  #track(bind: () => Result<EvtPort, FlowError>): Result<EvtPort, FlowError> {
    if (this.#closed) return err(platformClosed());
    const bound = bind();
    if (!bound.ok) return bound;
    const inner = bound.value;
    const ports = this.#ports;
    // The platform forgets a port its user closed.
    const port: EvtPort = {
      local: inner.local,
      notify: () => inner.notify(),
      onEvent: (listener) => inner.onEvent(listener),
      unmask: () => inner.unmask(),
      close: () => {
        ports.delete(port);
        inner.close();
      },
    };
    ports.add(port);
    return ok(port);
  }
}

/** `domid` read with a relative path (this domain's own), as `xenstore-read domid` does. */
async function readSelfDomid(connect: () => Promise<Result<XsClient, FlowError>>): Promise<Result<number, FlowError>> {
  const hint = 'pass selfDomid to LinuxPlatform.open';
  const connected = await connect();
  if (!connected.ok) {
    const cause = connected.error;
    return err(new FlowError(cause.kind, `cannot tell this domain's id: no xenstore connection (${cause.message}); ${hint}`, { code: cause.code, cause }));
  }
  const client = connected.value;
  try {
    const read = await client.read('domid');
    if (!read.ok) {
      const cause = read.error;
      return err(new FlowError(cause.kind, `cannot tell this domain's id: reading "domid" from xenstore failed (${cause.message}); ${hint}`, { code: cause.code, cause }));
    }
    const domid = /^(0|[1-9][0-9]{0,4})$/.test(read.value) ? Number(read.value) : Number.NaN;
    if (!(domid <= MAX_DOMID)) {
      return err(new FlowError('protocol', `cannot tell this domain's id: xenstore's "domid" is ${JSON.stringify(read.value.slice(0, 32))}, not a domain id; ${hint}`));
    }
    return ok(domid);
  } finally {
    await client.close();
  }
}

function platformClosed(): FlowError {
  return new FlowError('closed', 'the Linux Xen platform was closed');
}

function checkDomid(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_DOMID) {
    throw new RangeError(`${name} must be a domain id (an integer from 0 to ${MAX_DOMID}), not ${String(value)}`);
  }
}

function checkU32(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`${name} must be an integer from 0 to 4294967295, not ${String(value)}`);
  }
}
