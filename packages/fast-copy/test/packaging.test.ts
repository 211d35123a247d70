// The published package as a user gets it (the shared packaging tests of the packages with a
// native addon, @flow/native-support's testing/packaging.ts): with the prebuilt binary the engine
// loads from prebuilds/ and copies bytes; without it the install still succeeds and startCopy
// says exactly what is missing.
import { describePackaging, type UseReport } from '../../native-support/testing/packaging';
import { packageRoot } from '../src/native/locate';

jest.setTimeout(180_000);

interface LoaderReport extends UseReport {
  readonly ok: boolean;
  /** What an echo through the engine returned, in the consumer project. */
  readonly echoed?: string;
  readonly kind?: string;
  readonly message?: string;
}

describePackaging<LoaderReport>({
  packageName: '@flow/fast-copy',
  packageRoot,
  addonFile: 'fast_copy.node',
  prebuiltName: 'copy engine',
  shipped: ['package/native/fast_copy.c', 'package/native/unsupported.c', 'package/dist/native/load.js'],
  // Import the package, then echo a message through the engine over loopback TCP.
  use: () => `
    const net = require('node:net');
    const { startCopy, lendSocket, fastCopyBindingLocation } = require('@flow/fast-copy');
    const nativeBeforeUse = Object.keys(require.cache).filter((f) => f.endsWith('.node'));
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
      const lent = lendSocket(socket);
      const started = startCopy(lent.value.fd, lent.value.fd, {}, (result) => { socket.end(); server.close(); });
      if (!started.ok) {
        console.log(JSON.stringify({ ok: false, nativeBeforeUse, kind: started.error.kind, message: started.error.message }));
        socket.destroy();
        server.close();
      }
    });
    server.listen(0, '127.0.0.1', () => {
      const client = net.connect({ port: server.address().port, host: '127.0.0.1', allowHalfOpen: true });
      const chunks = [];
      client.on('data', (chunk) => chunks.push(chunk));
      client.on('end', () => {
        const echoed = Buffer.concat(chunks).toString();
        if (echoed) console.log(JSON.stringify({ ok: true, nativeBeforeUse, location: fastCopyBindingLocation(), echoed }));
        client.end();
      });
      client.on('error', () => {});
      client.end('through the engine');
    });`,
  loaded: (report) => {
    expect(report).toMatchObject({ ok: true, echoed: 'through the engine' });
  },
  missing: (report, message) => {
    expect(report).toEqual({ ok: false, nativeBeforeUse: [], kind: 'unsupported', message });
  },
});
