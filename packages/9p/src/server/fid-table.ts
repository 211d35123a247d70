import type { FsNode, OpenFile } from '../fs/filesystem';
import type { Qid } from '../wire/types';

/** What a fid is open as. */
export type FidOpen =
  | { readonly kind: 'file'; readonly file: OpenFile; readonly read: boolean; readonly write: boolean }
  | { kind: 'dir'; listing: DirListing | undefined }
  | { readonly kind: 'xattr'; readonly data: Uint8Array }
  | { readonly kind: 'none' };

/**
 * A 9P2000/.u snapshot of a directory, taken when a listing starts (offset 0): those dialects
 * resume at byte offsets into the stream of stats, which only a snapshot keeps stable. The
 * stats lie end to end in one buffer (one allocation, not one object per entry) and the
 * snapshot is charged to the connection's memory account while the fid holds it.
 */
export interface DirListing {
  /** Encoded stats, end to end. */
  readonly data: Uint8Array;
  /** Where each stat ends in `data`. */
  readonly ends: Uint32Array;
  /** Bytes charged to the memory account for it. */
  readonly cost: number;
  /** The byte offset the next read must use, and the index it resumes at. */
  nextOffset: number;
  nextIndex: number;
}

/** What the server reckons one fid costs (entry, path, name), charged to the memory account. */
export const FID_COST = 512;

/** One step of a path: a node and its name in its parent. */
export interface PathStep {
  readonly node: FsNode;
  readonly name: string;
}

/** One fid: the node, the path of nodes above it (so `..` never leaves the root), open state. */
export interface FidEntry {
  readonly node: FsNode;
  /** Ancestors from the attach root down to the parent; empty for the root. */
  readonly parents: readonly PathStep[];
  /** The name of this node in its parent ('' for the root). */
  readonly name: string;
  readonly qid: Qid;
  open: FidOpen | undefined;
  /** 9P2000 ORCLOSE: remove the file when the fid is clunked. */
  removeOnClunk: boolean;
  /** An authentication fid (from Tauth). */
  readonly auth?: AuthState;
  readonly uname: string;
  readonly nUname: number | undefined;
}

/** An authentication conversation started by `AuthHook.start` (Tauth), read and written through its afid. */
export interface AuthState {
  /** The afid's file: the client reads and writes the conversation here. */
  readonly file: OpenFile;
  /** Whether the conversation has succeeded, so that a Tattach naming this afid is let in. */
  authenticated(): boolean;
}

/** What FidTable needs of a memory account. */
interface FidAccount {
  fits(n: number): boolean;
  charge(n: number): void;
  release(n: number): void;
}

/**
 * The fids of one connection, bounded so that a client cannot exhaust memory: by count, and by
 * the connection's memory account (FID_COST each).
 */
export class FidTable {
  private readonly fids = new Map<number, FidEntry>();
  constructor(
    readonly max: number,
    private readonly account?: FidAccount,
  ) {}

  get size(): number {
    return this.fids.size;
  }
  get(fid: number): FidEntry | undefined {
    return this.fids.get(fid);
  }
  has(fid: number): boolean {
    return this.fids.has(fid);
  }
  /** Whether a new fid would exceed the count or the memory account (checked before `set`). */
  full(): boolean {
    return this.fids.size >= this.max || (this.account !== undefined && !this.account.fits(FID_COST));
  }
  set(fid: number, entry: FidEntry): void {
    if (!this.fids.has(fid)) this.account?.charge(FID_COST);
    this.fids.set(fid, entry);
  }
  delete(fid: number): FidEntry | undefined {
    const e = this.fids.get(fid);
    if (e) this.account?.release(FID_COST);
    this.fids.delete(fid);
    return e;
  }
  /** Removes every fid and returns them, for a Tversion reset or teardown. */
  clear(): FidEntry[] {
    const all = [...this.fids.values()];
    this.account?.release(FID_COST * all.length);
    this.fids.clear();
    return all;
  }
  pairs(): IterableIterator<[number, FidEntry]> {
    return this.fids.entries();
  }
}
