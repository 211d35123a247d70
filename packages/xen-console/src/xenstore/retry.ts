/**
 * What a `wait` callback returns to say "not yet": the OXS `wait` re-runs its function on the
 * next watch event for as long as the function raises `Eagain`; ours returns this instead.
 */
export const RETRY: unique symbol = Symbol.for('@flow/xen-console.xenstore.RETRY');
/** The type of {@link RETRY}. */
export type XsRetry = typeof RETRY;
