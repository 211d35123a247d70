import type { VsockAddress } from '../address/types';
import { formatAddress } from '../address/uri';

/** `vsock://3:1024`, `vsock://local:5000`, `vsock://any:*` — the address's URI, for labels and messages. */
export function describeVsock(a: VsockAddress): string {
  return formatAddress(a);
}

/** The address from the addon's [cid, port], or undefined when the call failed. */
export function addonAddress(r: number | readonly [number, number]): VsockAddress | undefined {
  if (typeof r === 'number') return undefined;
  return { kind: 'vsock', cid: r[0], port: r[1] };
}
