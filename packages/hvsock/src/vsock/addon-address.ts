import type { VsockAddress } from '../address/types';

/** The address from the addon's [cid, port], or undefined when the call failed. */
export function addonAddress(r: number | readonly [number, number]): VsockAddress | undefined {
  if (typeof r === 'number') return undefined;
  return { kind: 'vsock', cid: r[0], port: r[1] };
}
