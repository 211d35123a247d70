// The engine in a worker thread that is terminated mid-copy: the environment's teardown stops
// the copy without calling into JavaScript, closes the engine's descriptors, and the process
// lives on.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { nextLoopTurn, openDescriptors } from './support/sockets';

// Plain JavaScript against the built package: workers do not go through ts-jest.
const workerSource = `
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
const { startCopy, lendSocket } = require(workerData.dist);
async function pair(server) {
  const accepted = new Promise((resolve) => server.once('connection', resolve));
  const far = net.connect({ port: server.address().port, host: '127.0.0.1', allowHalfOpen: true });
  return { near: await accepted, far };
}
(async () => {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = await pair(server);
  const b = await pair(server);
  const copy = startCopy(lendSocket(a.near).value.fd, lendSocket(b.near).value.fd, { mode: workerData.mode });
  if (!copy.ok) throw copy.error;
  // Keep bytes flowing, so that the teardown hits a busy copy.
  b.far.resume();
  const chunk = Buffer.alloc(1 << 20);
  const pump = () => { while (a.far.write(chunk)); };
  a.far.on('drain', pump);
  pump();
  b.far.once('data', () => parentPort.postMessage('copying'));
})();
`;

test.each(['readwrite', 'splice'])('terminating a worker with a running %s copy is clean', async (mode) => {
  await nextLoopTurn();
  const before = openDescriptors();
  const worker = new Worker(workerSource, { eval: true, workerData: { dist: join(__dirname, '..', 'dist'), mode } });
  const errors: unknown[] = [];
  worker.on('error', (error) => errors.push(error));
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('exit', (code) => reject(new Error(`the worker exited early (${code})`)));
  });
  await worker.terminate();
  await nextLoopTurn();
  expect(errors).toEqual([]);
  // The worker's sockets, the engine's duplicates and pipe: all gone.
  expect(openDescriptors()).toBe(before);
});
