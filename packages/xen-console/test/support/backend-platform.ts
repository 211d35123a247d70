// A XenPlatform wrapped so that a test sees what the backend asked of it: every map and bind,
// and when each event reached the backend's listener (a timestamp taken just before the
// listener runs and one just after, so that a test can bound the backend's own clock readings).
import { ok } from '@flow/core';
import type { EvtPort, XenPlatform } from '../../src/platform/types';

export interface HandledEvent {
  /** performance.now() before the backend's listener ran. */
  readonly before: number;
  /** performance.now() after it returned. */
  readonly after: number;
  /** Whether the backend left the port masked (the simulator's ports say; undefined elsewhere). */
  readonly maskedAfter: boolean | undefined;
}

export interface PlatformProbe {
  readonly platform: XenPlatform;
  readonly maps: Array<{ domid: number; ref: number; writable: boolean }>;
  readonly binds: Array<{ domid: number; port: number }>;
  readonly events: HandledEvent[];
  /** Unmasks by the backend. */
  unmasks: number;
  /** The ports the backend bound (the simulator's own objects). */
  readonly ports: EvtPort[];
}

export function probePlatform(inner: XenPlatform): PlatformProbe {
  const probe: PlatformProbe = {
    platform: {
      selfDomid: inner.selfDomid,
      xenstore: () => inner.xenstore(),
      mapGrant: async (domid, ref, options) => {
        probe.maps.push({ domid, ref, writable: options.writable });
        return inner.mapGrant(domid, ref, options);
      },
      bindInterdomain: async (domid, port) => {
        probe.binds.push({ domid, port });
        const bound = await inner.bindInterdomain(domid, port);
        if (!bound.ok) return bound;
        const evtchn = bound.value;
        probe.ports.push(evtchn);
        const wrapped: EvtPort = {
          local: evtchn.local,
          notify: () => evtchn.notify(),
          unmask: () => {
            probe.unmasks += 1;
            evtchn.unmask();
          },
          close: () => evtchn.close(),
          onEvent: (listener) =>
            evtchn.onEvent(() => {
              const before = performance.now();
              listener();
              const masked = 'masked' in evtchn ? Boolean((evtchn as { masked: unknown }).masked) : undefined;
              probe.events.push({ before, after: performance.now(), maskedAfter: masked });
            }),
        };
        return ok(wrapped);
      },
      close: () => inner.close(),
    },
    maps: [],
    binds: [],
    events: [],
    unmasks: 0,
    ports: [],
  };
  return probe;
}
