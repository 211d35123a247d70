import type { MeasureOptions, ProxyRow } from './hvsock-measure';

// What the host and the user-mode Linux guest of the vsock bench tell each other through files
// on hostfs. Kept apart from the guest's script so that the host never loads that script.

/** What the host asks the guest to run (`options.json` in the work directory). */
export interface VsockGuestOptions extends MeasureOptions {
  readonly noSocat?: boolean;
  /** Write a CPU profile of the flow proxy here (a host directory, through hostfs). */
  readonly profileDir?: string;
  readonly verbose?: boolean;
}

/** What the guest leaves for the host (`results.json`). */
export interface VsockGuestResults {
  readonly rows: readonly ProxyRow[];
  readonly guest: {
    readonly kernel: string;
    readonly cpus: number;
    readonly node: string;
    readonly loadBefore: readonly number[];
    readonly loadAfter: readonly number[];
  };
}
