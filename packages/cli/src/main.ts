import { ExitCode } from './exit-codes';
import { run } from './run';

// The `flow` executable: bin/flow.js requires this file.
let finished = false;
process.on('exit', (code) => {
  // Node exits as soon as nothing is pending, even if a promise never settled: that is a bug,
  // and it must not look like success.
  if (!finished) {
    process.stderr.write('flow: internal error: the command stopped before it finished\n');
    process.exitCode = code === 0 ? ExitCode.failed : code;
  }
});
run(process.argv.slice(2)).then(
  (code) => finish(code),
  (error: unknown) => {
    // A bug, not bad input: say so in one paragraph, without a stack trace unless asked.
    const detail = process.env.FLOW_DEBUG ? (error instanceof Error ? error.stack : String(error)) : String(error);
    process.stderr.write(`flow: internal error: ${detail}\n`);
    finish(ExitCode.failed);
  },
);

function finish(code: number): void {
  finished = true;
  process.exitCode = code;
  // Everything was released, so the process ends on its own once stdout drains; should a handle
  // we do not own (a TTY in some mode) keep it alive, end it anyway.
  setTimeout(() => process.exit(code), 2000).unref();
}
