import type { AcceleratedCopy, CopyAccelerator } from './accelerator';
import type { CopyOutcome, CopyResult } from './copy';
import { descriptorLenderOf, SOURCE_ENDED, type LoanReport } from './descriptor-loan';
import { abortedError, type FlowError, timeoutError } from './errors';
import type { Flow } from './flow';
import { now } from './stats';
import { StopReason } from './stop-reason';

/** How an attempt at the fast path went: done, or declined (the copy goes on on the pure path). */
export type FastAttempt =
  | { readonly kind: 'done'; readonly result: CopyResult }
  | { readonly kind: 'declined'; readonly reason: string | undefined; readonly bytes: number; readonly ops: number };

export interface FastCopySettings {
  readonly signal: AbortSignal | undefined;
  readonly idleTimeoutMs: number | undefined;
  readonly propagateEof: boolean;
  /** Called with the running engine (proxy's idle timer watches its activity); returns an unwatch. */
  readonly watch?: (engine: AcceleratedCopy) => () => void;
  /** Proxy's idle timer covers both directions: the engine must not time out on its own. */
  readonly engineIdleTimeout: boolean;
}

interface Revocation {
  readonly error: FlowError;
  readonly side: 'read' | 'write';
}

const NOTHING: LoanReport = { bytes: 0, ops: 0 };

/**
 * Runs one direction of a copy on `accelerator`, keeping the contract of the pure path: the
 * bytes the source had read ahead are written first, EOF becomes `dst.shutdownWrite()`, errors
 * are recorded in the flows (never a clean EOF), statistics are counted, `unwritten` is handed
 * back, and both descriptors are given back however the copy ends.
 */
export async function copyAccelerated(src: Flow, dst: Flow, accelerator: CopyAccelerator, settings: FastCopySettings): Promise<FastAttempt> {
  const startedAt = now();
  let bytes = 0;
  let ops = 0;
  /** Declined: the pure path goes on; `reason` undefined when there was nothing to accelerate. */
  const declined = (reason: string | undefined): FastAttempt => ({ kind: 'declined', reason, bytes, ops });
  const missing = accelerator.unavailable();
  if (missing !== undefined) return declined(`${accelerator.name} is unavailable: ${missing}`);
  const srcLender = descriptorLenderOf(src);
  if (!srcLender) return declined(`${src.label} is not backed by a kernel descriptor it can lend`);
  const dstLender = descriptorLenderOf(dst);
  if (!dstLender) return declined(`${dst.label} is not backed by a kernel descriptor it can lend`);
  const { signal: outer, idleTimeoutMs } = settings;
  if (outer?.aborted) return declined(undefined);

  // A holder, since the flows set it from their abort (TypeScript cannot see closures assign it).
  const loans: { revoked?: Revocation; engine?: AcceleratedCopy } = {};
  const revokedNow = (): Revocation | undefined => loans.revoked;
  const revoke = (side: 'read' | 'write') => (error: FlowError): void => {
    loans.revoked ??= { error, side };
    loans.engine?.stop();
  };
  const lentRead = srcLender.lendRead(revoke('read'));
  if (!lentRead.ok) {
    // Everything is in the flow's buffer already: the pure path is the right tool, no fallback.
    if (lentRead.error === SOURCE_ENDED) return declined(undefined);
    return declined(`${src.label} cannot lend its descriptor: ${lentRead.error}`);
  }
  const readLoan = lentRead.value;

  // Until the engine runs, the signal and the idle timeout bound the waits here.
  const prelude = new AbortController();
  const onOuterAbort = (): void =>
    prelude.abort(outer?.reason instanceof StopReason ? outer.reason : new StopReason('aborted', abortedError(outer?.reason)));
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const idle =
    idleTimeoutMs !== undefined && settings.engineIdleTimeout
      ? setTimeout(() => prelude.abort(new StopReason('timeout', timeoutError('copy (idle)', idleTimeoutMs))), idleTimeoutMs)
      : undefined;
  const endPrelude = (): void => {
    if (idle) clearTimeout(idle);
    outer?.removeEventListener('abort', onOuterAbort);
  };
  const result = (outcome: CopyOutcome, error?: FlowError, failedSide?: 'read' | 'write', unwritten?: Uint8Array): FastAttempt => {
    const base: CopyResult = { outcome, bytes, ops, startedAt, endedAt: now(), path: 'fast' };
    if (!error) return { kind: 'done', result: base };
    return { kind: 'done', result: unwritten && unwritten.length > 0 ? { ...base, error, failedSide, unwritten } : { ...base, error, failedSide } };
  };
  /** The outcome of a wait cut short: by the signal, the idle timeout, a revoked loan, or the error itself. */
  const stopped = (error: FlowError, side: 'read' | 'write', unwritten?: Uint8Array): FastAttempt => {
    if (loans.revoked) return result('error', loans.revoked.error, loans.revoked.side, unwritten);
    const reason: unknown = prelude.signal.reason;
    if (prelude.signal.aborted && reason instanceof StopReason) return result(reason.outcome, reason.error, side, unwritten);
    return result('error', error, side, unwritten);
  };

  const readAhead = readLoan.readAhead;
  if (readAhead.length > 0) {
    const total = readAhead.reduce((n, c) => n + c.length, 0);
    const w = await dst.writev(readAhead, { signal: prelude.signal, transfer: true });
    if (!w.ok) {
      endPrelude();
      readLoan.giveBack(NOTHING);
      const accepted = Math.min(w.error.bytesAccepted ?? 0, total);
      bytes += accepted;
      return stopped(w.error, 'write', Buffer.concat(readAhead).subarray(accepted));
    }
    bytes += total;
    ops += 1;
  }
  const lentWrite = await dstLender.lendWrite(revoke('write'), prelude.signal);
  if (!lentWrite.ok) {
    endPrelude();
    readLoan.giveBack(NOTHING);
    if (loans.revoked || prelude.signal.aborted) return stopped(abortedError(prelude.signal.reason), 'write');
    return declined(`${dst.label} cannot lend its descriptor: ${lentWrite.error}`);
  }
  const writeLoan = lentWrite.value;
  endPrelude();
  const giveBackBoth = (): void => {
    readLoan.giveBack(NOTHING);
    writeLoan.giveBack(NOTHING);
  };
  if (loans.revoked || outer?.aborted) {
    giveBackBoth();
    return stopped(abortedError(outer?.reason), 'read');
  }
  const started = accelerator.start(readLoan.fd, writeLoan.fd, settings.engineIdleTimeout && idleTimeoutMs !== undefined ? { idleTimeoutMs } : {});
  if (!started.ok) {
    giveBackBoth();
    return declined(`${accelerator.name}: ${started.error.message}`);
  }
  const running = started.value;
  loans.engine = running;
  const onAbort = (): void => running.stop();
  outer?.addEventListener('abort', onAbort, { once: true });
  const unwatch = settings.watch?.(running);
  const end = await running.done;
  outer?.removeEventListener('abort', onAbort);
  unwatch?.();

  const unwritten = end.unwritten;
  const readFailed = end.outcome === 'error' && end.failedSide === 'read' ? end.error : undefined;
  const writeFailed = end.outcome === 'error' && end.failedSide === 'write' ? end.error : undefined;
  readLoan.giveBack({ bytes: end.bytes + unwritten.length, ops: end.reads, ended: end.outcome === 'eof' ? 'eof' : readFailed });
  writeLoan.giveBack({ bytes: end.bytes, ops: end.writes, ended: writeFailed });
  bytes += end.bytes;
  ops += Math.max(0, end.reads - (unwritten.length > 0 ? 1 : 0));

  if (end.outcome === 'eof') {
    // A reset the transport noticed during the loan (its probe read the socket's error, so the
    // engine then read a plain end): the source failed, and its end must not pass for clean.
    if (src.readState === 'error') {
      const failed = await src.read();
      return result('error', failed.ok ? abortedError('the source failed during the copy') : failed.error, 'read');
    }
    if (settings.propagateEof) {
      const s = await dst.shutdownWrite();
      if (!s.ok) return result('error', s.error, 'write');
    }
    return result('eof');
  }
  if (end.outcome === 'stopped') {
    const revoked = revokedNow();
    if (revoked) return result('error', revoked.error, revoked.side, unwritten);
    const reason: unknown = outer?.reason;
    if (reason instanceof StopReason) return result(reason.outcome, reason.error, 'read', unwritten);
    return result('aborted', abortedError(reason), 'read', unwritten);
  }
  const error = end.error ?? abortedError('the copy engine failed without saying why');
  if (error.kind === 'timeout' && end.failedSide === undefined) return result('timeout', error, 'read', unwritten);
  return result('error', error, end.failedSide ?? 'read', unwritten);
}
