import { FlowWrapper, type CloseOptions, type Flow, type FlowError, type Result, type WriteResult } from '@flow/core';
import type { XsClient } from '../xenstore/client-types';
import type { ConsoleStats } from './console-driver';
import { forceClose, requestClose } from './create';

/** What a {@link XenConsoleFlow} is built from: which console, and the resources it releases. */
export interface XenConsoleInfo {
  /** The guest's domain id. */
  readonly domid: number;
  /** The console's device number under the guest's `device/console/`. */
  readonly devid: number;
  /** The guest's xenstore directory of this console. */
  readonly frontend: string;
  /** Our (the backend's) xenstore directory of this console. */
  readonly backend: string;
  /** The xenstore connection the console uses. */
  readonly xenstore: XsClient;
  /** The driver's live counters, which `consoleStats` copies. */
  readonly stats: ConsoleStats;
  /** Called as `close()` starts: releases a write that waits for a guest that does not read. */
  readonly beforeClose?: () => void;
  /** Once the flow is released: resolves when the backend state is written and our xenstore connection closed. */
  readonly afterRelease?: () => Promise<void>;
}

const encoder = new TextEncoder();

/**
 * A guest's console served from dom0: a flow (guest output is read, writes are the guest's
 * input) with the console signature's `log` and `disconnect` (the shape of @flow/console's
 * `Console`), and the backend's `requestClose` / `forceClose`.
 */
export class XenConsoleFlow extends FlowWrapper {
  /** The guest's domain id. */
  readonly domid: number;
  /** The console's device number (1-9; 0 for the primary console). */
  readonly devid: number;
  /** The guest's xenstore directory of this console. */
  readonly frontend: string;
  /** Our xenstore directory of this console. */
  readonly backend: string;
  /** `log` ends each line with CR LF, as a terminal expects. */
  readonly lineEnding = '\r\n';
  private readonly info: XenConsoleInfo;
  private disconnectedFlag = false;
  /** Every close() call shares one promise (the flow contract). */
  private closing: Promise<WriteResult> | undefined;

  constructor(inner: Flow, info: XenConsoleInfo) {
    super(inner);
    this.info = info;
    this.domid = info.domid;
    this.devid = info.devid;
    this.frontend = info.frontend;
    this.backend = info.backend;
  }

  /**
   * Closes without waiting for the guest: what the ring took stays there for it, a write still
   * waiting for room fails with `closed` (and then so does this close, with the same error);
   * then the page is unmapped, the port unbound and the backend set Closed. It resolves once
   * all of that is done. Idempotent.
   */
  override close(options?: CloseOptions): Promise<WriteResult> {
    if (!this.closing) {
      this.info.beforeClose?.();
      this.closing = super.close(options).then(async (r) => {
        await this.info.afterRelease?.();
        return r;
      });
    }
    return this.closing;
  }

  /** What the guest did: events, notifications, rate-limited periods, corrupt rings, discarded bytes. */
  get consoleStats(): Readonly<ConsoleStats> {
    return { ...this.info.stats };
  }

  /** True once `disconnect()` was called: `log` drops lines from then on. */
  get disconnected(): boolean {
    return this.disconnectedFlag;
  }

  /**
   * Writes `line` (UTF-8) and CR LF. After close, disconnect or shutdownWrite the line is dropped
   * silently, as mirage's `log`. Never rejects.
   */
  async log(line: string): Promise<void> {
    if (this.disconnectedFlag || this.state !== 'open' || this.writeState !== 'open') return;
    await this.write(encoder.encode(`${line}\r\n`));
  }

  /** Releases everything now (unmap, unbind, backend Closed); never fails; idempotent. */
  async disconnect(): Promise<void> {
    this.disconnectedFlag = true;
    this.abort();
    await this.closed;
    await this.info.afterRelease?.();
  }

  /** Asks the guest to close its console (backend state Closing). */
  requestClose(): Promise<Result<void, FlowError>> {
    return requestClose(this.info.xenstore, this.backend);
  }

  /** Forces the guest's console to Closed (writes the frontend's state: needs dom0). */
  forceClose(): Promise<Result<void, FlowError>> {
    return forceClose(this.info.xenstore, this.frontend);
  }
}
