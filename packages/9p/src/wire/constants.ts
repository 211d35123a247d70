/** The three dialects this package speaks, as spelled in Tversion. */
export type Dialect = '9P2000' | '9P2000.u' | '9P2000.L';

export const DIALECTS: readonly Dialect[] = ['9P2000', '9P2000.u', '9P2000.L'];

/** Tversion's tag; valid request tags are 0..0xFFFE. */
export const NOTAG = 0xffff;
/** "No fid", e.g. Tattach's afid without authentication. */
export const NOFID = 0xffffffff;
/** .u/.L `n_uname` "not set". */
export const NONUNAME = 0xffffffff;
/** Names per Twalk (walk(5)). */
export const MAXWELEM = 16;
/** What clients subtract from msize for I/O payloads (Linux P9_IOHDRSZ, diod). */
export const IOHDRSZ = 24;
/** size[4] type[1] tag[2]. */
export const HEADER_SIZE = 7;
/** Rread/Rreaddir header: size, type, tag, count. Data may be at most msize - 11. */
export const RREAD_HEADER = 11;
/** Twrite header: size, type, tag, fid, offset, count. Data may be at most msize - 23. */
export const TWRITE_HEADER = 23;

/** qid.type bits. */
export const QT = {
  DIR: 0x80,
  APPEND: 0x40,
  EXCL: 0x20,
  MOUNT: 0x10,
  AUTH: 0x08,
  TMP: 0x04,
  SYMLINK: 0x02,
  LINK: 0x01,
  FILE: 0x00,
} as const;

/** 9P2000 / .u mode bits (stat.mode, Tcreate perm). */
export const DM = {
  DIR: 0x80000000,
  APPEND: 0x40000000,
  EXCL: 0x20000000,
  MOUNT: 0x10000000,
  AUTH: 0x08000000,
  TMP: 0x04000000,
  SYMLINK: 0x02000000,
  LINK: 0x01000000,
  DEVICE: 0x00800000,
  NAMEDPIPE: 0x00200000,
  SOCKET: 0x00100000,
  SETUID: 0x00080000,
  SETGID: 0x00040000,
  SETVTX: 0x00010000,
} as const;

/** 9P2000 / .u Topen and Tcreate modes. */
export const OMODE = {
  READ: 0,
  WRITE: 1,
  RDWR: 2,
  EXEC: 3,
  TRUNC: 0x10,
  CEXEC: 0x20,
  RCLOSE: 0x40,
  APPEND: 0x80,
} as const;

/** 9P2000.L Tlopen / Tlcreate flags: Linux O_* values. */
export const LFLAGS = {
  RDONLY: 0o0,
  WRONLY: 0o1,
  RDWR: 0o2,
  NOACCESS: 0o3,
  CREAT: 0o100,
  EXCL: 0o200,
  NOCTTY: 0o400,
  TRUNC: 0o1000,
  APPEND: 0o2000,
  NONBLOCK: 0o4000,
  DSYNC: 0o10000,
  FASYNC: 0o20000,
  DIRECT: 0o40000,
  LARGEFILE: 0o100000,
  DIRECTORY: 0o200000,
  NOFOLLOW: 0o400000,
  NOATIME: 0o1000000,
  CLOEXEC: 0o2000000,
  SYNC: 0o4000000,
} as const;

/** Linux st_mode file-type bits, used by .L mode fields. */
export const S_IF = {
  MT: 0o170000,
  SOCK: 0o140000,
  LNK: 0o120000,
  REG: 0o100000,
  BLK: 0o60000,
  DIR: 0o40000,
  CHR: 0o20000,
  FIFO: 0o10000,
} as const;

/** Tgetattr request_mask / Rgetattr valid bits. */
export const GETATTR = {
  MODE: 0x1n,
  NLINK: 0x2n,
  UID: 0x4n,
  GID: 0x8n,
  RDEV: 0x10n,
  ATIME: 0x20n,
  MTIME: 0x40n,
  CTIME: 0x80n,
  INO: 0x100n,
  SIZE: 0x200n,
  BLOCKS: 0x400n,
  BTIME: 0x800n,
  GEN: 0x1000n,
  DATA_VERSION: 0x2000n,
  BASIC: 0x7ffn,
  ALL: 0x3fffn,
} as const;

/** Tsetattr valid bits. */
export const SETATTR = {
  MODE: 0x1,
  UID: 0x2,
  GID: 0x4,
  SIZE: 0x8,
  ATIME: 0x10,
  MTIME: 0x20,
  CTIME: 0x40,
  ATIME_SET: 0x80,
  MTIME_SET: 0x100,
} as const;

/** Tunlinkat flag: the name is a directory (Linux AT_REMOVEDIR). */
export const AT_REMOVEDIR = 0x200;

/** Linux errno values the protocol carries (.u errno, .L Rlerror). */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  EPIPE: 32,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENODATA: 61,
  EPROTO: 71,
  EOVERFLOW: 75,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  ECONNRESET: 104,
  ETIMEDOUT: 110,
  ECANCELED: 125,
} as const;

export type ErrnoName = keyof typeof ERRNO;
