import { pair } from '@flow/core';
import { connect9p, type Client9p, type Connect9pOptions, type Filesystem, serve9p, type Serve9pOptions, type SessionSummary } from '../../src';

/** A client and our server over an in-memory pair. */
export async function memorySession(
  fs: Filesystem,
  clientOptions: Connect9pOptions = {},
  serverOptions: Serve9pOptions = {},
): Promise<{ client: Client9p; served: Promise<SessionSummary>; close: () => Promise<SessionSummary> }> {
  const [a, b] = pair();
  const served = serve9p(b, fs, serverOptions);
  const c = await connect9p(a, clientOptions);
  if (!c.ok) throw c.error;
  const client = c.value;
  return {
    client,
    served,
    close: async () => {
      await client.close();
      return served;
    },
  };
}
