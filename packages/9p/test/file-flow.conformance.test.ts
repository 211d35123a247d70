import { describeFlowConformance, type FlowPair } from '@flow/conformance';
import { connect9p, fileFlowCapabilities, FLOW_FILE_CAPABILITIES, flowFile, staticDir, Vfs } from '../src';
import { dial, startOurServer } from './support/diod';

/**
 * The 9P stream-file pair held to the flow contract: a VFS with a `flowFile` served by serve9p
 * on 127.0.0.1 over real TCP, Client9p connected to it, `a` the client's flow of the opened
 * file and `b` the server side accepted from the file.
 */
async function streamFilePair(dialect: '9P2000.L' | '9P2000'): Promise<FlowPair> {
  const stream = flowFile();
  const server = await startOurServer(new Vfs(staticDir({ dir: staticDir({ stream: stream.file }) })));
  const client = await connect9p(await dial(server.port), { version: dialect });
  if (!client.ok) throw client.error;
  const [a, b] = await Promise.all([client.value.openFlow('/dir/stream'), stream.accept()]);
  if (!a.ok) throw a.error;
  if (!b.ok) throw b.error;
  return {
    a: a.value,
    b: b.value,
    cleanup: async () => {
      stream.close();
      client.value.abort();
      await server.stop();
    },
  };
}

test('both ends of the stream file declare the same capabilities', () => {
  expect(fileFlowCapabilities('stream')).toMatchObject({
    halfCloseWrite: FLOW_FILE_CAPABILITIES.halfCloseWrite,
    halfCloseRead: FLOW_FILE_CAPABILITIES.halfCloseRead,
    abort: FLOW_FILE_CAPABILITIES.abort,
  });
});

describeFlowConformance({
  name: '9P2000.L stream file over tcp 127.0.0.1 (client flow a, server flow b)',
  capabilities: fileFlowCapabilities('stream'),
  // Well above what the path buffers (client read-ahead, the file's two 256 KiB buffers, the
  // Twrite window), so that the backpressure and abort checks see the writer held back.
  maxBytes: 16 * 1024 * 1024,
  makePair: () => streamFilePair('9P2000.L'),
});

describeFlowConformance({
  name: '9P2000 stream file over tcp 127.0.0.1 (client flow a, server flow b)',
  capabilities: fileFlowCapabilities('stream'),
  maxBytes: 8 * 1024 * 1024,
  makePair: () => streamFilePair('9P2000'),
});
