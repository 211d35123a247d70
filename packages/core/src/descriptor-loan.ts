import type { FlowError } from './errors';
import type { Flow } from './flow';
import type { Result } from './result';

/**
 * How a flow backed by a kernel descriptor (a TCP or Unix-domain socket) lends it to a copy
 * engine. Flows made by `createFlow` lend when their driver offers `lending` (`fromDuplex` over
 * a `net.Socket` with `lendDescriptor: true`); `FlowWrapper` passes the lender through.
 */
export const DESCRIPTOR_LENDER = Symbol.for('@flow/core.descriptorLender');

/** What a descriptor-backed flow offers a copy engine: its descriptor, for reading or for writing. */
export interface DescriptorLender {
  /**
   * Lends the descriptor for reading: the flow stops reading it and hands over the bytes it had
   * read and not delivered (`readAhead`, which go before anything read from `fd`). Reads of the
   * flow wait until the loan ends. `onRevoke` is called, synchronously, when the flow must take
   * the descriptor back at once (it is being aborted): stop using it before returning. An error
   * string says why the flow cannot lend now; nothing was changed then.
   */
  lendRead(onRevoke: (error: FlowError) => void): Result<ReadLoan, string>;
  /**
   * Lends the descriptor for writing, once every byte written through the flow reached the
   * kernel. Writes and shutdowns through the flow wait until the loan ends.
   */
  lendWrite(onRevoke: (error: FlowError) => void, signal?: AbortSignal): Promise<Result<WriteLoan, string>>;
}

/** A descriptor lent for reading (`DescriptorLender.lendRead`). */
export interface ReadLoan {
  /** The descriptor to read from (non-blocking); the flow's own, not a duplicate. */
  readonly fd: number;
  /** Bytes the flow had read and not delivered: they come before anything read from `fd`. */
  readonly readAhead: readonly Uint8Array[];
  /**
   * Ends the loan, telling the flow what the borrower read (counted in its statistics) and how
   * the source ended: `eof` (later reads return EOF), an error (recorded: later reads return it,
   * never a clean EOF), or nothing (the flow reads on). Idempotent.
   */
  giveBack(report: LoanReport): void;
}

/** A descriptor lent for writing (`DescriptorLender.lendWrite`). */
export interface WriteLoan {
  /** The descriptor to write to (non-blocking); every byte written through the flow is already in the kernel. */
  readonly fd: number;
  /** Ends the loan with what the borrower wrote and the write error if one failed (it sticks). Idempotent. */
  giveBack(report: LoanReport): void;
}

/** What a borrower tells the flow when it gives a descriptor back. */
export interface LoanReport {
  /** Bytes the borrower read from (or wrote to) the descriptor. */
  readonly bytes: number;
  /** System calls that moved those bytes. */
  readonly ops: number;
  /** How it ended, if it did: `eof` (the peer's end was read) or the error that stopped it; absent when the loan was merely returned. */
  readonly ended?: 'eof' | FlowError;
}

/**
 * The refusal of a `lendRead` whose source has nothing left to read from its descriptor (the
 * peer's end or error already arrived): the copy then simply runs on the pure path, which is no
 * fallback worth reporting. Lenders return exactly this string in that case.
 */
export const SOURCE_ENDED = 'its peer has already ended';

/** The flow's lender, if it is backed by a descriptor it can lend. */
export function descriptorLenderOf(flow: Flow): DescriptorLender | undefined {
  return (flow as { [DESCRIPTOR_LENDER]?: DescriptorLender })[DESCRIPTOR_LENDER];
}
