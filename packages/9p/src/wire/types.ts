import type { FieldKind, FieldSpec, MessageType } from './schema';
import { SCHEMA } from './schema';

/** The server's unique identification of a file: type bits, version, path (stable per file). */
export interface Qid {
  /** The file's kind as {@link QT} bits (QT.DIR, QT.SYMLINK, ...); u8. */
  readonly type: number;
  /** Changes whenever the file is modified (0 where the server does not track it); u32. */
  readonly version: number;
  /** The server's unique number for the file, stable for its life (often the inode); u64. */
  readonly path: bigint;
}

/** A 9P2000 stat; the last four fields exist only in 9P2000.u. */
export interface Stat {
  /** For kernel use (Plan 9's device type); u16, 0 elsewhere. */
  readonly type: number;
  /** For kernel use (Plan 9's device instance); u32, 0 elsewhere. */
  readonly dev: number;
  /** The file's qid. */
  readonly qid: Qid;
  /** Permission bits (low 9) and {@link DM} flags; u32. */
  readonly mode: number;
  /** Last access, in seconds since the epoch; u32. */
  readonly atime: number;
  /** Last modification, in seconds since the epoch; u32. */
  readonly mtime: number;
  /** Size in bytes (0 for directories); u64. */
  readonly length: bigint;
  /** The last element of the path (`/` for the root). */
  readonly name: string;
  /** The owner's name. */
  readonly uid: string;
  /** The group's name. */
  readonly gid: string;
  /** The name of the user who last modified the file. */
  readonly muid: string;
  /** .u: a symlink's target, a device's `b|c major minor`, or `''`. */
  readonly extension?: string;
  /** .u: the owner's numeric id ({@link NONUNAME} when unknown). */
  readonly nUid?: number;
  /** .u: the group's numeric id ({@link NONUNAME} when unknown). */
  readonly nGid?: number;
  /** .u: the numeric id of the last modifier ({@link NONUNAME} when unknown). */
  readonly nMuid?: number;
}

/** The TypeScript value of each wire kind; 8-byte integers are bigints (they exceed 2^53). */
export interface KindValue {
  /** One byte: 0 to 255. */
  u8: number;
  /** Two bytes, little-endian: 0 to 65535. */
  u16: number;
  /** Four bytes, little-endian: 0 to 2^32 - 1. */
  u32: number;
  /** Eight bytes, little-endian, as a bigint. */
  u64: bigint;
  /** A length-prefixed (u16) UTF-8 string. */
  str: string;
  /** A 13-byte qid. */
  qid: Qid;
  /** A u32 count followed by that many bytes. */
  data: Uint8Array;
  /** A u16 count (at most {@link MAXWELEM}) followed by that many strings. */
  wnames: readonly string[];
  /** A u16 count followed by that many qids. */
  qids: readonly Qid[];
  /** A u16 size followed by one stat of that size. */
  stat: Stat;
}

/** The fields a message of the schema `S` carries, typed. */
export type Fields<S extends readonly FieldSpec[]> = {
  readonly [F in S[number] as F extends readonly [string, FieldKind, 'ext'] ? never : F[0]]: KindValue[F[1]];
} & {
  readonly [F in S[number] as F extends readonly [string, FieldKind, 'ext'] ? F[0] : never]?: KindValue[F[1]];
};

/** One message of a given type: `{ type, tag, ...fields }`. */
export type MessageOf<T extends MessageType> = {
  /** The message's name, e.g. `Twalk`. */
  readonly type: T;
  /** The request's tag, which its reply repeats; {@link NOTAG} for Tversion. */
  readonly tag: number;
} & Fields<
  (typeof SCHEMA)[T]['fields']
>;

/** Any 9P message of any dialect. */
export type Message = { [T in MessageType]: MessageOf<T> }[MessageType];

/** Requests (T-messages) and replies (R-messages). */
export type Request = Extract<
  Message,
  {
    /** A request's name starts with `T`. */
    type: `T${string}`;
  }
>;
/** Any reply (R-message) of any dialect. */
export type Reply = Extract<
  Message,
  {
    /** A reply's name starts with `R`. */
    type: `R${string}`;
  }
>;

/** A 9P2000.L directory entry, as carried in Rreaddir. */
export interface Dirent {
  /** The entry's qid. */
  readonly qid: Qid;
  /** Opaque: the client sends it back to continue after this entry. */
  readonly offset: bigint;
  /** The Linux d_type (DT_DIR 4, DT_REG 8, DT_LNK 10, ...). */
  readonly type: number;
  /** The entry's name (one path element). */
  readonly name: string;
}
