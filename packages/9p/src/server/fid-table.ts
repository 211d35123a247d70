import type { FsNode, OpenFile } from '../fs/filesystem';
import type { Qid } from '../wire/types';

/** What a fid is open as. */
export type FidOpen =
  | { readonly kind: 'file'; readonly file: OpenFile; readonly read: boolean; readonly write: boolean }
  | { kind: 'dir'; listing: DirListing | undefined }
  | { readonly kind: 'xattr'; readonly data: Uint8Array }
  | { readonly kind: 'none' };

/** A snapshot of a directory, taken when a listing starts (offset 0). */
export interface DirListing {
  /** Encoded entries, in order. */
  readonly entries: readonly Uint8Array[];
  /** 9P2000/.u: the byte offset the next read must use, and the index it resumes at. */
  nextOffset: number;
  nextIndex: number;
}

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

export interface AuthState {
  readonly file: OpenFile;
  authenticated(): boolean;
}

/** The fids of one connection, bounded so that a client cannot exhaust memory. */
export class FidTable {
  private readonly fids = new Map<number, FidEntry>();
  constructor(readonly max: number) {}

  get size(): number {
    return this.fids.size;
  }
  get(fid: number): FidEntry | undefined {
    return this.fids.get(fid);
  }
  has(fid: number): boolean {
    return this.fids.has(fid);
  }
  full(): boolean {
    return this.fids.size >= this.max;
  }
  set(fid: number, entry: FidEntry): void {
    this.fids.set(fid, entry);
  }
  delete(fid: number): FidEntry | undefined {
    const e = this.fids.get(fid);
    this.fids.delete(fid);
    return e;
  }
  /** Removes every fid and returns them, for a Tversion reset or teardown. */
  clear(): FidEntry[] {
    const all = [...this.fids.values()];
    this.fids.clear();
    return all;
  }
  pairs(): IterableIterator<[number, FidEntry]> {
    return this.fids.entries();
  }
}
