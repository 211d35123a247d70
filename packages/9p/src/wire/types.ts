import type { FieldKind, FieldSpec, MessageType } from './schema';
import { SCHEMA } from './schema';

/** The server's unique identification of a file: type bits, version, path (stable per file). */
export interface Qid {
  readonly type: number;
  readonly version: number;
  readonly path: bigint;
}

/** A 9P2000 stat; the last four fields exist only in 9P2000.u. */
export interface Stat {
  readonly type: number;
  readonly dev: number;
  readonly qid: Qid;
  readonly mode: number;
  readonly atime: number;
  readonly mtime: number;
  readonly length: bigint;
  readonly name: string;
  readonly uid: string;
  readonly gid: string;
  readonly muid: string;
  readonly extension?: string;
  readonly nUid?: number;
  readonly nGid?: number;
  readonly nMuid?: number;
}

/** The TypeScript value of each wire kind; 8-byte integers are bigints (they exceed 2^53). */
export interface KindValue {
  u8: number;
  u16: number;
  u32: number;
  u64: bigint;
  str: string;
  qid: Qid;
  data: Uint8Array;
  wnames: readonly string[];
  qids: readonly Qid[];
  stat: Stat;
}

/** The fields a message of the schema `S` carries, typed. */
export type Fields<S extends readonly FieldSpec[]> = {
  readonly [F in S[number] as F extends readonly [string, FieldKind, 'ext'] ? never : F[0]]: KindValue[F[1]];
} & {
  readonly [F in S[number] as F extends readonly [string, FieldKind, 'ext'] ? F[0] : never]?: KindValue[F[1]];
};

/** One message of a given type: `{ type, tag, ...fields }`. */
export type MessageOf<T extends MessageType> = { readonly type: T; readonly tag: number } & Fields<
  (typeof SCHEMA)[T]['fields']
>;

/** Any 9P message of any dialect. */
export type Message = { [T in MessageType]: MessageOf<T> }[MessageType];

/** Requests (T-messages) and replies (R-messages). */
export type Request = Extract<Message, { type: `T${string}` }>;
export type Reply = Extract<Message, { type: `R${string}` }>;

/** A 9P2000.L directory entry, as carried in Rreaddir. */
export interface Dirent {
  readonly qid: Qid;
  /** Opaque: the client sends it back to continue after this entry. */
  readonly offset: bigint;
  /** The Linux d_type (DT_DIR 4, DT_REG 8, DT_LNK 10, ...). */
  readonly type: number;
  readonly name: string;
}
