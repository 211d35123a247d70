import { createServer } from 'node:net';

/**
 * The proxy campaign's backend, a process of its own so that it can die by SIGKILL as a crashed
 * server does: `proxy-campaign-backend.js <port>` echoes every connection on 127.0.0.1:<port>
 * (0: any free port), passing the client's half-close on, and prints `listening <port>` on
 * stdout once it accepts. It exits when its stdin closes, so that it never outlives the campaign.
 */
const port = Number(process.argv[2] ?? '0');
const server = createServer({ allowHalfOpen: true }, (socket) => {
  socket.on('error', () => undefined);
  socket.pipe(socket);
});
server.once('error', (error) => {
  process.stderr.write(`proxy campaign backend: cannot listen on 127.0.0.1:${port}: ${error.message}\n`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : port}\n`);
});
process.stdin.resume();
process.stdin.once('close', () => process.exit(0));
