import { FlowWrapper, type Flow, type FlowError, type Result } from '@flow/core';
import type { XsClient } from '../xenstore/client-types';
import type { ConsoleStats } from './console-driver';
import { forceClose, requestClose } from './create';

export interface XenConsoleInfo {
  readonly domid: number;
  readonly devid: number;
  /** The guest's xenstore directory of this console. */
  readonly frontend: string;
  /** Ours. */
  readonly backend: string;
  readonly xenstore: XsClient;
  readonly stats: ConsoleStats;
}

const encoder = new TextEncoder();

/**
 * A guest's console served from dom0: a flow (guest output is read, writes are the guest's
 * input) with the console signature's `log` and `disconnect` (the shape of @flow/console's
 * `Console`), and the backend's `requestClose` / `forceClose`.
 */
export class XenConsoleFlow extends FlowWrapper {
  readonly domid: number;
  readonly devid: number;
  readonly frontend: string;
  readonly backend: string;
  /** `log` ends each line with CR LF, as a terminal expects. */
  readonly lineEnding = '\r\n';
  private readonly info: XenConsoleInfo;
  private disconnectedFlag = false;

  constructor(inner: Flow, info: XenConsoleInfo) {
    super(inner);
    this.info = info;
    this.domid = info.domid;
    this.devid = info.devid;
    this.frontend = info.frontend;
    this.backend = info.backend;
  }

  /** What the guest did: events, notifications, rate-limited periods, corrupt rings, discarded bytes. */
  get consoleStats(): Readonly<ConsoleStats> {
    return { ...this.info.stats };
  }

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
