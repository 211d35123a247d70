// The entry of a simulated guest's worker thread (started by `startSimGuest`): attaches the
// domain's platform, connects its console as Linux's hvc_xen does, runs the behaviour, reports,
// and closes the console when told to. Nothing here runs in the hypervisor's thread.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { FlowError } from '@flow/core';
import { connectFrontend, type FrontendConsole } from '../frontend/connect-frontend';
import { serializeError } from './domain-rpc';
import { GuestConsoleIo, runBehaviour } from './guest-behaviours';
import type { GuestCommand, GuestMessage, GuestWorkerData, SimGuestReport } from './guest-messages';
import { WriteStamps } from './guest-write-stamps';
import { SabPage } from './sab-page';
import { attachSimPlatform } from './sim-xen';

/** How long closing the console may take before the guest gives up on flushing and aborts it. */
const CLOSE_TIMEOUT_MS = 5000;

async function runGuest(data: GuestWorkerData, parent: MessagePort): Promise<void> {
  const post = (message: GuestMessage): void => parent.postMessage(message);
  const stop = new AbortController();
  let frontend: FrontendConsole | undefined;
  let io: GuestConsoleIo | undefined;
  const onCommand = (command: GuestCommand): void => {
    if (command.type === 'close') stop.abort(new FlowError('aborted', 'the guest was told to close its console'));
    else if (command.type === 'status') {
      post({
        type: 'status',
        id: command.id,
        events: frontend?.counters.events ?? 0,
        notifies: frontend?.counters.notifies ?? 0,
        bytesRead: io?.input.bytes ?? 0,
        bytesWritten: io?.output.bytes ?? 0,
      });
    }
  };
  parent.on('message', onCommand);
  const platform = attachSimPlatform(data.exported);
  try {
    const page = new SabPage();
    const connected = await connectFrontend({
      platform,
      devid: data.devid,
      page,
      startIndex: data.startIndex,
      timeoutMs: data.timeoutMs,
      signal: stop.signal,
    });
    if (!connected.ok) {
      post({ type: 'failed', error: serializeError(connected.error) });
      return;
    }
    frontend = connected.value;
    post({ type: 'connected', ringRef: frontend.ringRef, port: frontend.port, page: page.buffer });
    io = new GuestConsoleIo(frontend.flow, stop.signal, data.writeStamps ? new WriteStamps(data.writeStamps) : undefined);
    const ended = await runBehaviour(data.behaviour, io);
    post({ type: 'report', report: report(data, frontend, io, ended.ok ? ended.value : stop.signal.aborted ? 'stopped' : serializeError(ended.error)) });
    // The console stays open (the last bytes may still be in the ring) until the guest is closed.
    if (!stop.signal.aborted) await new Promise((resolve) => stop.signal.addEventListener('abort', resolve, { once: true }));
    const closed = await frontend.flow.close({ timeoutMs: CLOSE_TIMEOUT_MS });
    if (!closed.ok) frontend.flow.abort(closed.error);
  } finally {
    platform.close();
    parent.off('message', onCommand);
    // Nothing keeps this thread alive now but the xenstore connection, until the frontend's
    // last write (state Closed) went out.
    parent.unref();
  }
}

function report(data: GuestWorkerData, frontend: FrontendConsole, io: GuestConsoleIo, ended: SimGuestReport['ended']): SimGuestReport {
  return {
    behaviour: data.behaviour.kind,
    ended,
    read: io.input.snapshot(),
    written: io.output.snapshot(),
    events: frontend.counters.events,
    notifies: frontend.counters.notifies,
    ...(io.input.first === undefined ? {} : { firstReadAt: io.input.first, lastReadAt: io.input.last }),
    ...(io.output.first === undefined ? {} : { firstWriteAt: io.output.first, lastWriteAt: io.output.last }),
  };
}

const parent = parentPort;
if (!parent) throw new Error('guest-worker runs only in a worker thread (startSimGuest starts it)');
const data = (workerData as { readonly guest: GuestWorkerData }).guest;
runGuest(data, parent).catch((error: unknown) => {
  // A bug in this thread, not a console condition: say so, and end the thread with code 1.
  const failed: GuestMessage = { type: 'failed', error: { kind: 'io', message: `the guest crashed: ${error instanceof Error ? error.message : String(error)}` } };
  parent.postMessage(failed);
  process.exit(1);
});
