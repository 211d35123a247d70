import { Worker, type TransferListItem } from 'node:worker_threads';

/**
 * Starts a `worker_thread` that runs a TypeScript file of this package. Jest compiles the test
 * thread only; the worker compiles what it requires with `typescript.transpileModule` (types
 * are checked by `tsc` and by the test thread already).
 */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const ts = require(workerData.typescript);
require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const output = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
  });
  module._compile(output.outputText, filename);
};
require(workerData.file);
`;

export function startTsWorker(file: string, data: unknown, transferList: readonly TransferListItem[] = []): Worker {
  return new Worker(BOOTSTRAP, {
    eval: true,
    workerData: { typescript: require.resolve('typescript'), file, data },
    transferList: [...transferList],
  });
}

/** Resolves with the worker's exit code (after `terminate()` or a natural end). */
export function exited(worker: Worker): Promise<number> {
  return new Promise((resolve) => worker.once('exit', resolve));
}

/** The next message from the worker that satisfies `match`. */
export function nextMessage<T>(worker: Worker, match: (message: unknown) => message is T): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      if (!match(message)) return;
      cleanup();
      resolve(message);
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new Error(`the worker exited with ${code} before the expected message`));
    };
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
