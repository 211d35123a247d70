import type { Flow, FlowError, Listener, Result } from '@flow/core';

/** Options of {@link Endpoint.connect}. */
export interface ConnectOptions {
  /** Give up connecting after this many milliseconds: the result is a `timeout` error. */
  readonly timeoutMs?: number;
  /** Give up connecting when this aborts: the result is an `aborted` error. */
  readonly signal?: AbortSignal;
}

/** What a command wants to hear from a listener besides the flows it accepts. */
export interface ListenHooks {
  /** A connection was reset before it was accepted (too many at once): who, and why. */
  readonly onRefused?: (peer: string, reason: FlowError) => void;
}

/** A listener as the commands use it: the core shape plus a printable address. */
export interface EndpointListener extends Listener {
  /** Where peers reach it, as a URI (with the real port when 0 was asked for). */
  readonly uri: string;
}

/** One parsed endpoint: what a URI names, and how to connect to it and/or listen on it. */
export interface Endpoint {
  /** The URI as the user gave it, for messages. */
  readonly uri: string;
  /** The URI's scheme, lower case, e.g. `tcp` or `vsock`. */
  readonly scheme: string;
  /**
   * Opens a flow to what the URI names; absent when the endpoint can only listen. Failures
   * (refused, unreachable, timeout, ...) are `FlowError` values.
   */
  connect?(options: ConnectOptions): Promise<Result<Flow, FlowError>>;
  /** Starts listening where the URI says; absent when the endpoint can only connect. */
  listen?(options?: ListenHooks): Promise<Result<EndpointListener, FlowError>>;
}

/** A family of URI schemes served by one transport package. */
export interface EndpointFamily {
  /** The URI schemes this family parses, lower case, e.g. `['tcp', 'unix']`. */
  readonly schemes: readonly string[];
  /** One line per scheme for `flow --help`: the form and what it is. */
  readonly help: readonly string[];
  /** For each of `schemes`, a correct URI of that scheme to show when one is wrong. */
  readonly examples: Readonly<Record<string, string>>;
  /** The endpoint, or a message that names the wrong part of the URI, for what the command will do with it. */
  parse(uri: string, scheme: string, role: 'connect' | 'listen'): Result<Endpoint, string>;
}
