/**
 * The message table: one row per 9P message with its type code and body fields in wire order.
 * The codec interprets this table, so every message of every dialect is encoded and decoded by
 * the same bound-checked code, and the TypeScript message types are derived from it.
 */

/** Wire kinds of a field. */
export type FieldKind =
  | 'u8'
  | 'u16'
  | 'u32'
  | 'u64'
  | 'str'
  | 'qid'
  | 'data' // count[4] data[count]
  | 'wnames' // nwname[2] nwname*(wname[s])
  | 'qids' // nwqid[2] nwqid*(qid[13])
  | 'stat'; // n[2] stat[n]

/** `ext` fields exist only in .u and .L (n_uname) or only in .u (Tcreate extension, Rerror errno). */
export type FieldSpec = readonly [name: string, kind: FieldKind] | readonly [name: string, kind: FieldKind, ext: 'ext'];

/** One row of {@link SCHEMA}: a message's type byte and its body fields. */
export interface MessageSpec<C extends number = number, F extends readonly FieldSpec[] = readonly FieldSpec[]> {
  /** The byte that identifies the message on the wire, after `size[4]`: `size[4] type[1] tag[2] fields`. */
  readonly code: C;
  /** The fields after the tag, in wire order, as `[name, kind]` or `[name, kind, 'ext']`. */
  readonly fields: F;
}

/** A row of the table with its literal code and fields kept in its type (what `as const` did per row). */
function row<const C extends number, const F extends readonly FieldSpec[]>(code: C, fields: F): MessageSpec<C, F> {
  return { code, fields };
}

/**
 * Every message of the three dialects by name: its type byte and body fields. Codes of 100 and
 * up are 9P2000 (and .u, which extends some of their bodies with `ext` fields); codes below 100
 * are 9P2000.L's. The codec encodes and decodes from this table.
 */
export const SCHEMA = {
  /** Negotiates the dialect and the largest message size (msize); starts a session, aborting all outstanding I/O. */
  Tversion: row(100, [['msize', 'u32'], ['version', 'str']]),
  /** The server's msize (at most the client's) and dialect (`unknown` if it speaks none of them). */
  Rversion: row(101, [['msize', 'u32'], ['version', 'str']]),
  /** Asks for an authentication fid (afid) to run an authentication protocol over, before Tattach. */
  Tauth: row(102, [['afid', 'u32'], ['uname', 'str'], ['aname', 'str'], ['nUname', 'u32', 'ext']]),
  /** The afid's qid (QT.AUTH). */
  Rauth: row(103, [['aqid', 'qid']]),
  /** Attaches `fid` to the root of the tree `aname` as user `uname`, authenticated by `afid` (NOFID: none). */
  Tattach: row(104, [['fid', 'u32'], ['afid', 'u32'], ['uname', 'str'], ['aname', 'str'], ['nUname', 'u32', 'ext']]),
  /** The root's qid. */
  Rattach: row(105, [['qid', 'qid']]),
  /** A 9P2000/.u request failed: the error string (and, in .u, the Linux errno). */
  Rerror: row(107, [['ename', 'str'], ['errno', 'u32', 'ext']]),
  /** Asks the server to abandon the request tagged `oldtag`; answered once that request is answered or dropped. */
  Tflush: row(108, [['oldtag', 'u16']]),
  /** `oldtag` is done: its reply, if any, came before this one. */
  Rflush: row(109, []),
  /** Walks `newfid` from `fid` through the names `wnames` (at most MAXWELEM); no names clones the fid. */
  Twalk: row(110, [['fid', 'u32'], ['newfid', 'u32'], ['wnames', 'wnames']]),
  /** The qid of each name walked; fewer than asked means the walk stopped there (and `newfid` was not set). */
  Rwalk: row(111, [['qids', 'qids']]),
  /** Opens the file `fid` names, with an OMODE mode. */
  Topen: row(112, [['fid', 'u32'], ['mode', 'u8']]),
  /** The file's qid and the iounit: the largest I/O that is atomic (0: msize minus IOHDRSZ). */
  Ropen: row(113, [['qid', 'qid'], ['iounit', 'u32']]),
  /** Creates the file `name` in directory `fid` with permissions and DM bits `perm`, and opens it with `mode`; `fid` then names the new file. */
  Tcreate: row(114, [['fid', 'u32'], ['name', 'str'], ['perm', 'u32'], ['mode', 'u8'], ['extension', 'str', 'ext']]),
  /** The new file's qid and iounit. */
  Rcreate: row(115, [['qid', 'qid'], ['iounit', 'u32']]),
  /** Reads at most `count` bytes at `offset` (for a directory: whole stat entries). */
  Tread: row(116, [['fid', 'u32'], ['offset', 'u64'], ['count', 'u32']]),
  /** The bytes read; none means end of file. */
  Rread: row(117, [['data', 'data']]),
  /** Writes `data` at `offset`. */
  Twrite: row(118, [['fid', 'u32'], ['offset', 'u64'], ['data', 'data']]),
  /** How many bytes were written. */
  Rwrite: row(119, [['count', 'u32']]),
  /** Forgets `fid` (closing the file if open). */
  Tclunk: row(120, [['fid', 'u32']]),
  /** `fid` is free again. */
  Rclunk: row(121, []),
  /** Removes the file `fid` names and clunks `fid` (even if the removal fails). */
  Tremove: row(122, [['fid', 'u32']]),
  /** The file was removed. */
  Rremove: row(123, []),
  /** Asks for the stat of the file `fid` names. */
  Tstat: row(124, [['fid', 'u32']]),
  /** The file's stat. */
  Rstat: row(125, [['stat', 'stat']]),
  /** Changes the stat fields that are not "don't touch" (all ones, or empty strings). */
  Twstat: row(126, [['fid', 'u32'], ['stat', 'stat']]),
  /** Every change was applied. */
  Rwstat: row(127, []),
  // 9P2000.L
  /** A 9P2000.L request failed: the Linux errno. */
  Rlerror: row(7, [['ecode', 'u32']]),
  /** Asks for the statistics of the file system `fid` is on (.L). */
  Tstatfs: row(8, [['fid', 'u32']]),
  /** `statfs(2)` of the file system. */
  Rstatfs: row(9, [
    ['fsType', 'u32'],
    ['bsize', 'u32'],
    ['blocks', 'u64'],
    ['bfree', 'u64'],
    ['bavail', 'u64'],
    ['files', 'u64'],
    ['ffree', 'u64'],
    ['fsid', 'u64'],
    ['namelen', 'u32'],
  ]),
  /** Opens the file `fid` names with Linux open flags (.L). */
  Tlopen: row(12, [['fid', 'u32'], ['flags', 'u32']]),
  /** The file's qid and iounit. */
  Rlopen: row(13, [['qid', 'qid'], ['iounit', 'u32']]),
  /** Creates and opens the regular file `name` in directory `fid` with Linux `flags`, permission bits `mode` and group `gid`; `fid` then names the new file (.L). */
  Tlcreate: row(14, [['fid', 'u32'], ['name', 'str'], ['flags', 'u32'], ['mode', 'u32'], ['gid', 'u32']]),
  /** The new file's qid and iounit. */
  Rlcreate: row(15, [['qid', 'qid'], ['iounit', 'u32']]),
  /** Creates the symbolic link `name` to `symtgt` in directory `fid` (.L). */
  Tsymlink: row(16, [['fid', 'u32'], ['name', 'str'], ['symtgt', 'str'], ['gid', 'u32']]),
  /** The link's qid. */
  Rsymlink: row(17, [['qid', 'qid']]),
  /** Creates the device, FIFO or socket `name` in directory `dfid` (.L). */
  Tmknod: row(18, [['dfid', 'u32'], ['name', 'str'], ['mode', 'u32'], ['major', 'u32'], ['minor', 'u32'], ['gid', 'u32']]),
  /** The new node's qid. */
  Rmknod: row(19, [['qid', 'qid']]),
  /** Moves the file `fid` names to `name` in directory `dfid` (.L; Trenameat is preferred). */
  Trename: row(20, [['fid', 'u32'], ['dfid', 'u32'], ['name', 'str']]),
  /** The file was moved. */
  Rrename: row(21, []),
  /** Asks for the target of the symbolic link `fid` names (.L). */
  Treadlink: row(22, [['fid', 'u32']]),
  /** The link's target. */
  Rreadlink: row(23, [['target', 'str']]),
  /** Asks for the attributes `requestMask` selects (GETATTR bits) of the file `fid` names (.L). */
  Tgetattr: row(24, [['fid', 'u32'], ['requestMask', 'u64']]),
  /** The attributes; `valid` says which of them are filled in. */
  Rgetattr: row(25, [
    ['valid', 'u64'],
    ['qid', 'qid'],
    ['mode', 'u32'],
    ['uid', 'u32'],
    ['gid', 'u32'],
    ['nlink', 'u64'],
    ['rdev', 'u64'],
    ['size', 'u64'],
    ['blksize', 'u64'],
    ['blocks', 'u64'],
    ['atimeSec', 'u64'],
    ['atimeNsec', 'u64'],
    ['mtimeSec', 'u64'],
    ['mtimeNsec', 'u64'],
    ['ctimeSec', 'u64'],
    ['ctimeNsec', 'u64'],
    ['btimeSec', 'u64'],
    ['btimeNsec', 'u64'],
    ['gen', 'u64'],
    ['dataVersion', 'u64'],
  ]),
  /** Changes the attributes `valid` selects (SETATTR bits) of the file `fid` names (.L). */
  Tsetattr: row(26, [
    ['fid', 'u32'],
    ['valid', 'u32'],
    ['mode', 'u32'],
    ['uid', 'u32'],
    ['gid', 'u32'],
    ['size', 'u64'],
    ['atimeSec', 'u64'],
    ['atimeNsec', 'u64'],
    ['mtimeSec', 'u64'],
    ['mtimeNsec', 'u64'],
  ]),
  /** The attributes were changed. */
  Rsetattr: row(27, []),
  /** Opens `newfid` to read the extended attribute `name` of `fid` (all names when empty) (.L). */
  Txattrwalk: row(30, [['fid', 'u32'], ['newfid', 'u32'], ['name', 'str']]),
  /** The attribute's size in bytes. */
  Rxattrwalk: row(31, [['size', 'u64']]),
  /** Turns `fid` into a fid that writes the extended attribute `name` of `attrSize` bytes, set on clunk (.L). */
  Txattrcreate: row(32, [['fid', 'u32'], ['name', 'str'], ['attrSize', 'u64'], ['flags', 'u32']]),
  /** The fid now takes the attribute's value. */
  Rxattrcreate: row(33, []),
  /** Reads directory entries from `offset` (an opaque value from a previous entry; 0 at the start) into at most `count` bytes (.L). */
  Treaddir: row(40, [['fid', 'u32'], ['offset', 'u64'], ['count', 'u32']]),
  /** Directory entries (qid, offset, type, name each); none at the end. */
  Rreaddir: row(41, [['data', 'data']]),
  /** Flushes the open file `fid` to stable storage; `datasync` non-zero: data only (.L). */
  Tfsync: row(50, [['fid', 'u32'], ['datasync', 'u32']]),
  /** The file is on stable storage. */
  Rfsync: row(51, []),
  /** Takes or releases a POSIX byte-range lock (.L). */
  Tlock: row(52, [
    ['fid', 'u32'],
    ['lockType', 'u8'],
    ['flags', 'u32'],
    ['start', 'u64'],
    ['length', 'u64'],
    ['procId', 'u32'],
    ['clientId', 'str'],
  ]),
  /** The lock status: 0 success, 1 blocked, 2 error, 3 grace period. */
  Rlock: row(53, [['status', 'u8']]),
  /** Tests whether a POSIX byte-range lock could be taken (.L). */
  Tgetlock: row(54, [['fid', 'u32'], ['lockType', 'u8'], ['start', 'u64'], ['length', 'u64'], ['procId', 'u32'], ['clientId', 'str']]),
  /** A conflicting lock, or the asked one with type F_UNLCK if none. */
  Rgetlock: row(55, [['lockType', 'u8'], ['start', 'u64'], ['length', 'u64'], ['procId', 'u32'], ['clientId', 'str']]),
  /** Creates `name` in directory `dfid` as a hard link to the file `fid` names (.L). */
  Tlink: row(70, [['dfid', 'u32'], ['fid', 'u32'], ['name', 'str']]),
  /** The link was created. */
  Rlink: row(71, []),
  /** Creates the directory `name` in `dfid` with permission bits `mode` and group `gid` (.L). */
  Tmkdir: row(72, [['dfid', 'u32'], ['name', 'str'], ['mode', 'u32'], ['gid', 'u32']]),
  /** The new directory's qid. */
  Rmkdir: row(73, [['qid', 'qid']]),
  /** Moves `oldname` in directory `olddirfid` to `newname` in `newdirfid` (.L). */
  Trenameat: row(74, [['olddirfid', 'u32'], ['oldname', 'str'], ['newdirfid', 'u32'], ['newname', 'str']]),
  /** The entry was moved. */
  Rrenameat: row(75, []),
  /** Removes `name` from directory `dirfid`; `flags` AT_REMOVEDIR for a directory (.L). */
  Tunlinkat: row(76, [['dirfid', 'u32'], ['name', 'str'], ['flags', 'u32']]),
  /** The entry was removed. */
  Runlinkat: row(77, []),
} as const satisfies Record<string, MessageSpec>;

/** The name of any message of any dialect, e.g. `Twalk` or `Rlerror`. */
export type MessageType = keyof typeof SCHEMA;

/** Messages of the 9P2000 core that .L keeps (with .u's attach/auth). */
const L_KEEPS: ReadonlySet<MessageType> = new Set<MessageType>([
  'Tversion', 'Rversion', 'Tauth', 'Rauth', 'Tattach', 'Rattach', 'Tflush', 'Rflush', 'Twalk', 'Rwalk',
  'Tread', 'Rread', 'Twrite', 'Rwrite', 'Tclunk', 'Rclunk', 'Tremove', 'Rremove',
]);

/** Whether `type` exists in `dialect` (the dialect is fixed by Tversion, never guessed). */
export function messageInDialect(type: MessageType, dialect: '9P2000' | '9P2000.u' | '9P2000.L'): boolean {
  const code = SCHEMA[type].code;
  if (dialect === '9P2000.L') return code < 100 || L_KEEPS.has(type);
  return code >= 100;
}

const BY_CODE = new Map<number, MessageType>();
for (const name of Object.keys(SCHEMA) as MessageType[]) BY_CODE.set(SCHEMA[name].code, name);

/** The name of the message whose type byte is `code`, or `undefined` for a byte no dialect uses. */
export function messageTypeOf(code: number): MessageType | undefined {
  return BY_CODE.get(code);
}
