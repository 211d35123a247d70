import type { FlowCapabilities } from '@flow/core';
import type { CaseEnv, ConformanceCase } from './case';
import type { ConformanceOptions, FlowPair } from './options';
import { allCases } from './suite';

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 60000;

function isPromise<T>(value: Promise<T> | T): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** Best effort teardown of a pair nobody will use again. */
async function dispose(pair: FlowPair): Promise<void> {
  pair.a.abort();
  pair.b.abort();
  await pair.cleanup?.();
}

/**
 * The declared capabilities, known before any test runs: from the options, or from a pair made
 * now when the factory is synchronous. Undefined for an asynchronous factory without them.
 */
function declaredCapabilities(options: ConformanceOptions): FlowCapabilities | undefined {
  if (options.capabilities) return options.capabilities;
  const made = options.makePair();
  if (isPromise(made)) {
    made.then(dispose).catch(() => undefined);
    return undefined;
  }
  const capabilities = made.a.capabilities;
  void Promise.resolve(dispose(made)).catch(() => undefined);
  return capabilities;
}

function differences(declared: FlowCapabilities, actual: FlowCapabilities): string | undefined {
  const fields = ['halfCloseWrite', 'halfCloseRead', 'abort'] as const;
  const diff = fields
    .filter((f) => declared[f] !== actual[f])
    .map((f) => `${f} declared '${declared[f]}', flow says '${actual[f]}'`);
  return diff.length > 0 ? diff.join('; ') : undefined;
}

class Env implements CaseEnv {
  private readonly open_: FlowPair[] = [];
  private readonly released = new Set<FlowPair>();
  capabilities: FlowCapabilities;

  constructor(
    private readonly options: ConformanceOptions,
    capabilities: FlowCapabilities | undefined,
    readonly maxBytes: number,
  ) {
    // Replaced by the first pair's own capabilities when none were declared up front.
    this.capabilities = capabilities ?? { halfCloseWrite: 'native', halfCloseRead: 'emulated', abort: 'rst' };
  }

  readonly open = async (): Promise<FlowPair> => {
    const pair = await this.options.makePair();
    this.open_.push(pair);
    if (this.open_.length === 1 && !this.options.capabilities) this.capabilities = pair.a.capabilities;
    for (const [end, flow] of [['a', pair.a], ['b', pair.b]] as const) {
      const mismatch = differences(this.capabilities, flow.capabilities);
      // The expectations follow the declaration, so a flow that says otherwise would be judged
      // against the wrong contract.
      if (mismatch) throw new Error(`${end}.capabilities differ from the declared ones: ${mismatch}`);
    }
    return pair;
  };

  readonly release = async (pair: FlowPair): Promise<void> => {
    if (this.released.has(pair)) return;
    this.released.add(pair);
    await dispose(pair);
  };

  async teardown(): Promise<void> {
    for (const pair of this.open_) await this.release(pair);
  }
}

/** The body of one registered test: a fresh environment, the case, then teardown. */
export function run(options: ConformanceOptions, declared: FlowCapabilities | undefined, maxBytes: number, c: ConformanceCase) {
  return async (): Promise<void> => {
    const env = new Env(options, declared, maxBytes);
    try {
      if (!declared && c.requires) {
        // Capabilities could not be known at registration: make sure this case applies.
        const probe = await env.open();
        const reason = c.requires(probe.a.capabilities);
        if (reason) throw new Error(`${reason}: pass capabilities in the options so that this test is skipped`);
        await env.release(probe);
      }
      await c.run(env);
    } finally {
      await env.teardown();
    }
  };
}

/**
 * Registers the conformance suite as jest tests under `describe(options.name)`. Each test makes
 * a fresh pair with `options.makePair`, and aborts and cleans up whatever the test left open.
 */
export function describeFlowConformance(options: ConformanceOptions): void {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new RangeError('maxBytes must be a positive integer');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
  const cases = allCases(maxBytes);
  const titles = new Set(cases.map((c) => `${c.check}: ${c.title}`));
  const unknown = Object.keys(options.skipCases ?? {}).filter((t) => !titles.has(t));
  if (unknown.length > 0) throw new Error(`skipCases names no case of the suite: ${unknown.join('; ')}`);
  describe(options.name, () => {
    const declared = declaredCapabilities(options);
    for (const c of cases) {
      const title = `${c.check}: ${c.title}`;
      const skipCase = options.skipCases !== undefined && Object.hasOwn(options.skipCases, title) ? options.skipCases[title] : undefined;
      const reason = options.skip?.[c.check] ?? skipCase ?? (declared && c.requires ? c.requires(declared) : undefined);
      if (reason !== undefined) {
        test.skip(`${title} (skipped: ${reason})`, () => undefined);
      } else {
        test(title, run(options, declared, maxBytes, c), timeoutMs);
      }
    }
  });
}
