// A scripted, possibly hostile guest for the backend tests: it grants a page it controls, binds
// an unbound port for dom0, and writes its xenstore nodes and the shared page directly, in any
// order and with any values, through its own domain connection to the simulated xenstored.
import type { FlowError, Result } from '@flow/core';
import { readConsoleIndices, resetConsolePage, type ConsoleIndices } from '../../src/ring/console-page';
import { CONSOLE_LAYOUT } from '../../src/ring/layout';
import { ringAdvance, ringDistance, ringSlot } from '../../src/ring/ring-index';
import type { EvtPort } from '../../src/platform/types';
import { SabPage } from '../../src/sim/sab-page';
import type { SimXen } from '../../src/sim/sim-xen';
import type { XenstoreClient } from '../../src/xenstore';

export interface ScriptedGuestOptions {
  /** Default 1. */
  readonly devid?: number;
  /** The domain the page is granted to and the port allocated for. Default 0. */
  readonly grantTo?: number;
  /** A writable grant. Default true. */
  readonly writable?: boolean;
  /** The first value of all four indices. Default 0. */
  readonly start?: number;
  /** The `connection` byte (Xen >= 4.21: 1 = disconnected) before the backend maps the page. Default 0. */
  readonly connection?: number;
}

function must<T>(r: Result<T, FlowError>, what: string): T {
  if (!r.ok) throw new Error(`${what}: ${r.error.kind}: ${r.error.message}`);
  return r.value;
}

export class ScriptedGuest {
  /** Events the backend sent us. */
  events = 0;
  private readonly listeners = new Set<() => void>();

  private constructor(
    readonly domid: number,
    readonly devid: number,
    /** The guest's own mapping of the shared page: writes here are what the backend sees. */
    readonly page: SabPage,
    readonly ref: number,
    readonly port: EvtPort,
    readonly xs: XenstoreClient,
    private readonly revoke: () => void,
  ) {
    port.onEvent(() => {
      this.events += 1;
      for (const l of [...this.listeners]) l();
      port.unmask();
    });
  }

  /** Grants a fresh page and allocates a port; nothing is written to xenstore yet. */
  static async start(sim: SimXen, domid: number, options: ScriptedGuestOptions = {}): Promise<ScriptedGuest> {
    const platform = sim.platform(domid);
    const page = new SabPage();
    resetConsolePage(page, options.start ?? 0);
    if (options.connection !== undefined) page.writeBytes(CONSOLE_LAYOUT.CONNECTION, Uint8Array.of(options.connection));
    if (!platform.grantPage || !platform.bindUnbound) throw new Error('the simulator platform cannot grant');
    const to = options.grantTo ?? 0;
    const grant = must(await platform.grantPage(page, to, { writable: options.writable ?? true }), 'grant');
    const port = must(await platform.bindUnbound(to), 'bindUnbound');
    const xs = must(sim.xenstored.connect(domid), 'xenstore');
    return new ScriptedGuest(domid, options.devid ?? 1, page, grant.ref, port, xs, () => grant.revoke());
  }

  get dir(): string {
    return `/local/domain/${this.domid}/device/console/${this.devid}`;
  }

  /** Writes `ring-ref` and `port` in one transaction, as Linux does (any strings: a hostile guest). */
  async publish(ringRef: string | Uint8Array = String(this.ref), port: string | Uint8Array = String(this.port.local)): Promise<void> {
    must(
      await this.xs.transaction(async (tx) => {
        const a = await tx.write(`${this.dir}/ring-ref`, ringRef);
        if (!a.ok) return a;
        return tx.write(`${this.dir}/port`, port);
      }),
      'publish',
    );
  }

  async setState(state: number | string | Uint8Array): Promise<void> {
    must(await this.xs.write(`${this.dir}/state`, typeof state === 'number' ? String(state) : state), 'state');
  }

  /** Linux's `xencons_connect_backend` after the grant: publish, then Initialised. */
  async initialise(): Promise<void> {
    await this.publish();
    await this.setState(3);
  }

  /** Calls `listener` on each event from the backend; returns the unsubscription. */
  onEvent(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(): void {
    this.port.notify();
  }

  indices(): ConsoleIndices {
    return readConsoleIndices(this.page);
  }

  storeIndex(offset: number, value: number): void {
    this.page.storeU32(offset, value >>> 0);
  }

  /** Appends what fits of `bytes` to `out` as a correct producer would; no notification. */
  produce(bytes: Uint8Array): number {
    const { outCons, outProd } = this.indices();
    const used = ringDistance(outProd, outCons);
    const n = Math.min(CONSOLE_LAYOUT.OUT_SIZE - used, bytes.length);
    const slot = ringSlot(outProd, CONSOLE_LAYOUT.OUT_SIZE);
    const first = Math.min(n, CONSOLE_LAYOUT.OUT_SIZE - slot);
    this.page.writeBytes(CONSOLE_LAYOUT.OUT + slot, bytes.subarray(0, first));
    this.page.writeBytes(CONSOLE_LAYOUT.OUT, bytes.subarray(first, n));
    this.storeIndex(CONSOLE_LAYOUT.OUT_PROD, ringAdvance(outProd, n));
    return n;
  }

  /** Takes everything in `in`, as a correct consumer would; no notification. */
  consume(): Uint8Array {
    const { inCons, inProd } = this.indices();
    const n = ringDistance(inProd, inCons);
    if (n > CONSOLE_LAYOUT.IN_SIZE) throw new Error(`the backend broke the in ring: ${n} bytes`);
    const out = new Uint8Array(n);
    const slot = ringSlot(inCons, CONSOLE_LAYOUT.IN_SIZE);
    const first = Math.min(n, CONSOLE_LAYOUT.IN_SIZE - slot);
    this.page.readBytes(CONSOLE_LAYOUT.IN + slot, first, out, 0);
    this.page.readBytes(CONSOLE_LAYOUT.IN, n - first, out, first);
    this.storeIndex(CONSOLE_LAYOUT.IN_CONS, ringAdvance(inCons, n));
    return out;
  }

  /**
   * Writes `data` as fast as the backend frees room, notifying after each publish, until all of
   * it is in the ring. Resolves with the bytes written (all of them, unless `stop()` is called).
   */
  flood(data: Uint8Array): { readonly done: Promise<number>; written(): number; stop(): void } {
    let sent = 0;
    let stopped = false;
    let finish: (n: number) => void = () => undefined;
    const done = new Promise<number>((resolve) => {
      finish = resolve;
    });
    const pump = (): void => {
      if (stopped) return;
      const n = this.produce(data.subarray(sent));
      sent += n;
      if (n > 0) this.notify();
      if (sent === data.length) {
        off();
        finish(sent);
      }
    };
    const off = this.onEvent(pump);
    pump();
    return {
      done,
      written: () => sent,
      stop: () => {
        stopped = true;
        off();
        finish(sent);
      },
    };
  }

  /** Unbinds, ends the grant (deferred while dom0 maps it) and closes the xenstore connection. */
  async close(): Promise<void> {
    this.port.close();
    this.revoke();
    await this.xs.close();
  }
}

/** A deterministic byte stream. */
export function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}
