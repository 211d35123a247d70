import { err, ok, type Flow, type FlowError, type Result } from '@flow/core';
import { connectConsole, createConsole, LinuxPlatform, type XenPlatform } from '@flow/xen-console';
import type { Endpoint, EndpointFamily } from './endpoint';

/** `xen-console://DOMID[/DEVID]`: the domain, and the console device (1-9, default 1). */
export function parseXenConsoleUri(uri: string): Result<{ domid: number; devid: number }, string> {
  const m = /^xen-console:\/\/([0-9]{1,5})(?:\/([0-9]))?\/?$/i.exec(uri);
  if (!m) return err('expected xen-console://DOMID or xen-console://DOMID/DEVID, e.g. xen-console://5/1');
  const domid = Number(m[1]);
  const devid = m[2] === undefined ? 1 : Number(m[2]);
  if (domid > 0x7fef) return err(`domain id ${domid} is out of range 0-32751`);
  if (domid === 0) return err('domain 0 is this side (dom0); give the guest\'s domain id');
  if (devid === 0) return err('device 0 is the primary console, which xenconsoled serves (xl console); use a secondary console 1-9');
  return ok({ domid, devid });
}

/** Opens the platform: real Xen through the addon. Replaceable for tests (the simulator). */
export type XenPlatformFactory = () => Promise<Result<XenPlatform, FlowError>>;

const linuxPlatform: XenPlatformFactory = () => LinuxPlatform.open();

/**
 * Connects to the console as its backend; creates it first when the guest has no such console
 * yet (the guest's hvc_xen then connects to it), then waits for the guest.
 */
export async function openXenConsole(target: { domid: number; devid: number }, platformFactory: XenPlatformFactory, options: { timeoutMs?: number; signal?: AbortSignal }): Promise<Result<Flow, FlowError>> {
  const opened = await platformFactory();
  if (!opened.ok) return opened;
  const platform = opened.value;
  const xs = await platform.xenstore();
  if (!xs.ok) {
    platform.close();
    return xs;
  }
  const back = `/local/domain/${platform.selfDomid}/backend/console/${target.domid}/${target.devid}`;
  const exists = await xs.value.read(`${back}/frontend`);
  if (!exists.ok) {
    const created = await createConsole(xs.value, { ...target, backendDomid: platform.selfDomid });
    if (!created.ok) {
      await xs.value.close();
      platform.close();
      return created;
    }
  }
  await xs.value.close();
  const flow = await connectConsole({ platform, ...target, handshakeTimeoutMs: options.timeoutMs, signal: options.signal });
  if (!flow.ok) {
    platform.close();
    return flow;
  }
  // The platform (its devices and xenstore connection) lives as long as the flow.
  void flow.value.closed.then(() => platform.close());
  return flow;
}

/** The `xen-console:` family, on the given platform (real Xen by default). */
export function xenConsoleFamily(platformFactory: XenPlatformFactory = linuxPlatform): EndpointFamily {
  return {
    schemes: ['xen-console'],
    help: [
      'xen-console://DOMID[/DEVID] a Xen guest\'s PV console served from dom0 (DEVID 1-9, default 1); it is created when',
      '                            missing, e.g. flow connect xen-console://5/1 (as xl console)',
    ],
    examples: { 'xen-console': 'xen-console://5/1' },
    parse(uri, scheme) {
      const parsed = parseXenConsoleUri(uri);
      if (!parsed.ok) return parsed;
      const target = parsed.value;
      const endpoint: Endpoint = {
        uri,
        scheme,
        connect: (o) => openXenConsole(target, platformFactory, { timeoutMs: o.timeoutMs, signal: o.signal }),
      };
      return ok(endpoint);
    },
  };
}

