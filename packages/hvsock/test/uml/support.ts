import { listenVsock, type VsockListener } from '../../src/vsock/listen';

export const LOCAL = 1;
export const ANY = 0xffffffff;

/** A listener on CID any with a kernel-picked port (never a hard-coded one: some are reserved). */
export async function listener(options: Parameters<typeof listenVsock>[1] = {}): Promise<VsockListener> {
  const r = await listenVsock({ kind: 'vsock', cid: ANY, port: ANY }, options);
  if (!r.ok) throw r.error;
  return r.value;
}
