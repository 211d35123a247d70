import type { FlowError } from './errors';

/** Internal: an abort reason that says why a copy was stopped. */
export class StopReason {
  constructor(readonly outcome: 'aborted' | 'timeout', readonly error: FlowError) {}
}
