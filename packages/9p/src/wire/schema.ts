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

export const SCHEMA = {
  Tversion: { code: 100, fields: [['msize', 'u32'], ['version', 'str']] },
  Rversion: { code: 101, fields: [['msize', 'u32'], ['version', 'str']] },
  Tauth: { code: 102, fields: [['afid', 'u32'], ['uname', 'str'], ['aname', 'str'], ['nUname', 'u32', 'ext']] },
  Rauth: { code: 103, fields: [['aqid', 'qid']] },
  Tattach: {
    code: 104,
    fields: [['fid', 'u32'], ['afid', 'u32'], ['uname', 'str'], ['aname', 'str'], ['nUname', 'u32', 'ext']],
  },
  Rattach: { code: 105, fields: [['qid', 'qid']] },
  Rerror: { code: 107, fields: [['ename', 'str'], ['errno', 'u32', 'ext']] },
  Tflush: { code: 108, fields: [['oldtag', 'u16']] },
  Rflush: { code: 109, fields: [] },
  Twalk: { code: 110, fields: [['fid', 'u32'], ['newfid', 'u32'], ['wnames', 'wnames']] },
  Rwalk: { code: 111, fields: [['qids', 'qids']] },
  Topen: { code: 112, fields: [['fid', 'u32'], ['mode', 'u8']] },
  Ropen: { code: 113, fields: [['qid', 'qid'], ['iounit', 'u32']] },
  Tcreate: {
    code: 114,
    fields: [['fid', 'u32'], ['name', 'str'], ['perm', 'u32'], ['mode', 'u8'], ['extension', 'str', 'ext']],
  },
  Rcreate: { code: 115, fields: [['qid', 'qid'], ['iounit', 'u32']] },
  Tread: { code: 116, fields: [['fid', 'u32'], ['offset', 'u64'], ['count', 'u32']] },
  Rread: { code: 117, fields: [['data', 'data']] },
  Twrite: { code: 118, fields: [['fid', 'u32'], ['offset', 'u64'], ['data', 'data']] },
  Rwrite: { code: 119, fields: [['count', 'u32']] },
  Tclunk: { code: 120, fields: [['fid', 'u32']] },
  Rclunk: { code: 121, fields: [] },
  Tremove: { code: 122, fields: [['fid', 'u32']] },
  Rremove: { code: 123, fields: [] },
  Tstat: { code: 124, fields: [['fid', 'u32']] },
  Rstat: { code: 125, fields: [['stat', 'stat']] },
  Twstat: { code: 126, fields: [['fid', 'u32'], ['stat', 'stat']] },
  Rwstat: { code: 127, fields: [] },
  // 9P2000.L
  Rlerror: { code: 7, fields: [['ecode', 'u32']] },
  Tstatfs: { code: 8, fields: [['fid', 'u32']] },
  Rstatfs: {
    code: 9,
    fields: [
      ['fsType', 'u32'],
      ['bsize', 'u32'],
      ['blocks', 'u64'],
      ['bfree', 'u64'],
      ['bavail', 'u64'],
      ['files', 'u64'],
      ['ffree', 'u64'],
      ['fsid', 'u64'],
      ['namelen', 'u32'],
    ],
  },
  Tlopen: { code: 12, fields: [['fid', 'u32'], ['flags', 'u32']] },
  Rlopen: { code: 13, fields: [['qid', 'qid'], ['iounit', 'u32']] },
  Tlcreate: {
    code: 14,
    fields: [['fid', 'u32'], ['name', 'str'], ['flags', 'u32'], ['mode', 'u32'], ['gid', 'u32']],
  },
  Rlcreate: { code: 15, fields: [['qid', 'qid'], ['iounit', 'u32']] },
  Tsymlink: { code: 16, fields: [['fid', 'u32'], ['name', 'str'], ['symtgt', 'str'], ['gid', 'u32']] },
  Rsymlink: { code: 17, fields: [['qid', 'qid']] },
  Tmknod: {
    code: 18,
    fields: [['dfid', 'u32'], ['name', 'str'], ['mode', 'u32'], ['major', 'u32'], ['minor', 'u32'], ['gid', 'u32']],
  },
  Rmknod: { code: 19, fields: [['qid', 'qid']] },
  Trename: { code: 20, fields: [['fid', 'u32'], ['dfid', 'u32'], ['name', 'str']] },
  Rrename: { code: 21, fields: [] },
  Treadlink: { code: 22, fields: [['fid', 'u32']] },
  Rreadlink: { code: 23, fields: [['target', 'str']] },
  Tgetattr: { code: 24, fields: [['fid', 'u32'], ['requestMask', 'u64']] },
  Rgetattr: {
    code: 25,
    fields: [
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
    ],
  },
  Tsetattr: {
    code: 26,
    fields: [
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
    ],
  },
  Rsetattr: { code: 27, fields: [] },
  Txattrwalk: { code: 30, fields: [['fid', 'u32'], ['newfid', 'u32'], ['name', 'str']] },
  Rxattrwalk: { code: 31, fields: [['size', 'u64']] },
  Txattrcreate: { code: 32, fields: [['fid', 'u32'], ['name', 'str'], ['attrSize', 'u64'], ['flags', 'u32']] },
  Rxattrcreate: { code: 33, fields: [] },
  Treaddir: { code: 40, fields: [['fid', 'u32'], ['offset', 'u64'], ['count', 'u32']] },
  Rreaddir: { code: 41, fields: [['data', 'data']] },
  Tfsync: { code: 50, fields: [['fid', 'u32'], ['datasync', 'u32']] },
  Rfsync: { code: 51, fields: [] },
  Tlock: {
    code: 52,
    fields: [
      ['fid', 'u32'],
      ['lockType', 'u8'],
      ['flags', 'u32'],
      ['start', 'u64'],
      ['length', 'u64'],
      ['procId', 'u32'],
      ['clientId', 'str'],
    ],
  },
  Rlock: { code: 53, fields: [['status', 'u8']] },
  Tgetlock: {
    code: 54,
    fields: [['fid', 'u32'], ['lockType', 'u8'], ['start', 'u64'], ['length', 'u64'], ['procId', 'u32'], ['clientId', 'str']],
  },
  Rgetlock: {
    code: 55,
    fields: [['lockType', 'u8'], ['start', 'u64'], ['length', 'u64'], ['procId', 'u32'], ['clientId', 'str']],
  },
  Tlink: { code: 70, fields: [['dfid', 'u32'], ['fid', 'u32'], ['name', 'str']] },
  Rlink: { code: 71, fields: [] },
  Tmkdir: { code: 72, fields: [['dfid', 'u32'], ['name', 'str'], ['mode', 'u32'], ['gid', 'u32']] },
  Rmkdir: { code: 73, fields: [['qid', 'qid']] },
  Trenameat: {
    code: 74,
    fields: [['olddirfid', 'u32'], ['oldname', 'str'], ['newdirfid', 'u32'], ['newname', 'str']],
  },
  Rrenameat: { code: 75, fields: [] },
  Tunlinkat: { code: 76, fields: [['dirfid', 'u32'], ['name', 'str'], ['flags', 'u32']] },
  Runlinkat: { code: 77, fields: [] },
} as const satisfies Record<string, { code: number; fields: readonly FieldSpec[] }>;

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

export function messageTypeOf(code: number): MessageType | undefined {
  return BY_CODE.get(code);
}
