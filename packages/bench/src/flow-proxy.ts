import { proxy } from '@flow/core';
import type { BenchListener, TcpTransport } from './tcp-transport';

/** Our proxy: every accepted flow is joined to a fresh upstream flow by core's `proxy()`. */
export async function runFlowProxy(tcp: TcpTransport, upstreamPort: number, onListening: (port: number) => void): Promise<void> {
  const l = await tcp.listen('tcp://127.0.0.1:0');
  if (!l.ok) throw new Error(`listen failed: ${l.error.message}`);
  const listener: BenchListener = l.value;
  onListening(listener.port);
  for await (const down of listener) {
    void (async () => {
      const up = await tcp.connect(`tcp://127.0.0.1:${upstreamPort}`);
      if (!up.ok) {
        down.abort(up.error);
        return;
      }
      await proxy(down, up.value);
    })();
  }
}
