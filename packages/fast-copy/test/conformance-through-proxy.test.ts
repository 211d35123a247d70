// The conformance suite over connections that run through `proxy`, on the engine and on the
// pure path: what one end does (half-close, abort, backpressure, close) must reach the other
// end exactly as it would on a direct connection.
import { describeFlowConformance } from '@flow/conformance';
import { proxy } from '@flow/core';
import { socketCapabilities } from '@flow/tcp';
import { abortAll, flowPair, PATHS, type Kind } from './support/flows';

async function throughProxy(kind: Kind, accelerator: (typeof PATHS)[number][1], path: string) {
  const client = await flowPair(kind);
  const server = await flowPair(kind);
  const running = proxy(client.near, server.near, { accelerator, closeTimeoutMs: 2000 });
  return {
    a: client.far,
    b: server.far,
    cleanup: async () => {
      const r = await running;
      abortAll();
      // The fast path must really have been taken where the test says so.
      const paths = [r.aToB.path, r.bToA.path];
      if (path === 'fast' && paths.includes('pure') && r.aToB.fallbackReason) throw new Error(`fell back: ${r.aToB.fallbackReason}`);
    },
  };
}

for (const [path, accelerator] of PATHS) {
  for (const kind of ['tcp', 'unix'] as const) {
    describeFlowConformance({
      name: `${kind} through proxy, ${path} path`,
      capabilities: socketCapabilities(kind === 'unix', undefined),
      maxBytes: 16 * 1024 * 1024,
      makePair: () => throughProxy(kind, accelerator, path),
    });
  }
}
