import type { Flow, FlowCapabilities } from '@flow/core';

/** Two connected ends of one transport: what `a` writes, `b` reads, and the other way round. */
export interface FlowPair {
  /**
   * One end; when no capabilities are passed in the options, the suite takes the declared ones
   * from `a` of the first pair (both ends must then report the same).
   */
  readonly a: Flow;
  /** The other end, connected to `a`; its capabilities must equal the declared ones too. */
  readonly b: Flow;
  /** Releases whatever the factory set up besides the flows (a listener, a temp dir). */
  readonly cleanup?: () => Promise<void> | void;
}

/** The identifiers of the suite's checks, used to skip a check that cannot apply. */
export type ConformanceCheck =
  | 'integrity'
  | 'writev'
  | 'half-close'
  | 'close-handshake'
  | 'write-after-close'
  | 'read-after-eof'
  | 'concurrent-close'
  | 'abort'
  | 'backpressure'
  | 'stats'
  | 'handles'
  | 'read-into'
  | 'read-signal'
  | 'language';

/**
 * What {@link describeFlowConformance} needs to register the suite for one transport: a name, a
 * factory of connected pairs, and optionally the declared capabilities, limits and skipped checks.
 */
export interface ConformanceOptions {
  /** Title of the jest `describe` block. */
  readonly name: string;
  /** Makes a fresh connected pair; called once per test. */
  readonly makePair: () => Promise<FlowPair> | FlowPair;
  /**
   * What the transport declares. Default: `a.capabilities` of a pair made at registration time
   * when `makePair` returns synchronously; an asynchronous factory should pass them, because
   * jest needs to know which tests to skip before any test runs.
   */
  readonly capabilities?: FlowCapabilities;
  /**
   * The largest transfer, in bytes; default 64 MiB. It must exceed what the transport can
   * buffer, since the backpressure and abort checks rely on the writer being held back.
   */
  readonly maxBytes?: number;
  /** Check id -> the reason it cannot apply; its tests are registered as skipped with the reason. */
  readonly skip?: Partial<Record<ConformanceCheck, string>>;
  /**
   * One case of a check -> the reason it cannot apply, for a check whose other cases do apply.
   * The key is the test's title without the suite's name, `<check>: <case title>`; a key that
   * names no case throws, so that a renamed case is not run unnoticed.
   */
  readonly skipCases?: Readonly<Record<string, string>>;
  /** Per-test jest timeout in milliseconds; default 60000. */
  readonly timeoutMs?: number;
}
