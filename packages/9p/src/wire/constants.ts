/** The three dialects this package speaks, as spelled in Tversion. */
export type Dialect = '9P2000' | '9P2000.u' | '9P2000.L';

/** The three dialects, as spelled in Tversion: plain 9P2000, the Unix extension .u, the Linux extension .L. */
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
  /** A directory. */
  DIR: 0x80,
  /** An append-only file. */
  APPEND: 0x40,
  /** A file that only one client may have open at a time. */
  EXCL: 0x20,
  /** A mount point (Plan 9). */
  MOUNT: 0x10,
  /** An authentication file (the afid of Tauth). */
  AUTH: 0x08,
  /** A temporary file, not backed up. */
  TMP: 0x04,
  /** A symbolic link (.u and .L). */
  SYMLINK: 0x02,
  /** A hard link (.u). */
  LINK: 0x01,
  /** A plain file (no bit set). */
  FILE: 0x00,
} as const;

/** 9P2000 / .u mode bits (stat.mode, Tcreate perm). */
export const DM = {
  /** A directory. */
  DIR: 0x80000000,
  /** Append-only: writes go to the end. */
  APPEND: 0x40000000,
  /** Exclusive use: one open at a time. */
  EXCL: 0x20000000,
  /** A mount point (Plan 9). */
  MOUNT: 0x10000000,
  /** An authentication file. */
  AUTH: 0x08000000,
  /** A temporary file. */
  TMP: 0x04000000,
  /** A symbolic link (.u). */
  SYMLINK: 0x02000000,
  /** A hard link (.u). */
  LINK: 0x01000000,
  /** A device file (.u; the extension says `b major minor` or `c major minor`). */
  DEVICE: 0x00800000,
  /** A named pipe (.u). */
  NAMEDPIPE: 0x00200000,
  /** A Unix-domain socket (.u). */
  SOCKET: 0x00100000,
  /** The set-user-id bit (.u). */
  SETUID: 0x00080000,
  /** The set-group-id bit (.u). */
  SETGID: 0x00040000,
  /** The sticky bit (.u). */
  SETVTX: 0x00010000,
} as const;

/** 9P2000 / .u Topen and Tcreate modes. */
export const OMODE = {
  /** Open for reading. */
  READ: 0,
  /** Open for writing. */
  WRITE: 1,
  /** Open for reading and writing. */
  RDWR: 2,
  /** Open for execution (checked as reading). */
  EXEC: 3,
  /** Or-ed in: truncate the file first. */
  TRUNC: 0x10,
  /** Or-ed in: close on exec (Plan 9; servers ignore it). */
  CEXEC: 0x20,
  /** Or-ed in: remove the file when the fid is clunked. */
  RCLOSE: 0x40,
  /** Or-ed in: append (.u). */
  APPEND: 0x80,
} as const;

/** 9P2000.L Tlopen / Tlcreate flags: Linux O_* values. */
export const LFLAGS = {
  /** O_RDONLY. */
  RDONLY: 0o0,
  /** O_WRONLY. */
  WRONLY: 0o1,
  /** O_RDWR. */
  RDWR: 0o2,
  /** Access mode 3: neither read nor write (Linux opens for ioctl only). */
  NOACCESS: 0o3,
  /** O_CREAT. */
  CREAT: 0o100,
  /** O_EXCL: fail with EEXIST if the name exists. */
  EXCL: 0o200,
  /** O_NOCTTY. */
  NOCTTY: 0o400,
  /** O_TRUNC: truncate to 0 bytes on open. */
  TRUNC: 0o1000,
  /** O_APPEND: every write goes to the end. */
  APPEND: 0o2000,
  /** O_NONBLOCK. */
  NONBLOCK: 0o4000,
  /** O_DSYNC. */
  DSYNC: 0o10000,
  /** FASYNC (O_ASYNC). */
  FASYNC: 0o20000,
  /** O_DIRECT. */
  DIRECT: 0o40000,
  /** O_LARGEFILE. */
  LARGEFILE: 0o100000,
  /** O_DIRECTORY: fail unless it is a directory. */
  DIRECTORY: 0o200000,
  /** O_NOFOLLOW: fail on a symbolic link. */
  NOFOLLOW: 0o400000,
  /** O_NOATIME. */
  NOATIME: 0o1000000,
  /** O_CLOEXEC. */
  CLOEXEC: 0o2000000,
  /** O_SYNC. */
  SYNC: 0o4000000,
} as const;

/** Linux st_mode file-type bits, used by .L mode fields. */
export const S_IF = {
  /** S_IFMT: the mask of the file-type bits. */
  MT: 0o170000,
  /** S_IFSOCK: a socket. */
  SOCK: 0o140000,
  /** S_IFLNK: a symbolic link. */
  LNK: 0o120000,
  /** S_IFREG: a regular file. */
  REG: 0o100000,
  /** S_IFBLK: a block device. */
  BLK: 0o60000,
  /** S_IFDIR: a directory. */
  DIR: 0o40000,
  /** S_IFCHR: a character device. */
  CHR: 0o20000,
  /** S_IFIFO: a named pipe. */
  FIFO: 0o10000,
} as const;

/** Tgetattr request_mask / Rgetattr valid bits. */
export const GETATTR = {
  /** `mode` (P9_GETATTR_MODE). */
  MODE: 0x1n,
  /** `nlink`. */
  NLINK: 0x2n,
  /** `uid`. */
  UID: 0x4n,
  /** `gid`. */
  GID: 0x8n,
  /** `rdev`. */
  RDEV: 0x10n,
  /** `atime_sec` and `atime_nsec`. */
  ATIME: 0x20n,
  /** `mtime_sec` and `mtime_nsec`. */
  MTIME: 0x40n,
  /** `ctime_sec` and `ctime_nsec`. */
  CTIME: 0x80n,
  /** `qid.path` (the inode number). */
  INO: 0x100n,
  /** `size`. */
  SIZE: 0x200n,
  /** `blocks`. */
  BLOCKS: 0x400n,
  /** `btime_sec` and `btime_nsec` (birth time). */
  BTIME: 0x800n,
  /** `gen` (inode generation). */
  GEN: 0x1000n,
  /** `data_version`. */
  DATA_VERSION: 0x2000n,
  /** Everything `stat(2)` returns: MODE through BLOCKS. */
  BASIC: 0x7ffn,
  /** Every attribute: BASIC plus BTIME, GEN and DATA_VERSION. */
  ALL: 0x3fffn,
} as const;

/** Tsetattr valid bits. */
export const SETATTR = {
  /** Set `mode` (permission bits). */
  MODE: 0x1,
  /** Set the owner. */
  UID: 0x2,
  /** Set the group. */
  GID: 0x4,
  /** Set the size (truncate or extend). */
  SIZE: 0x8,
  /** Set the access time: to now, or to the given time with ATIME_SET. */
  ATIME: 0x10,
  /** Set the modification time: to now, or to the given time with MTIME_SET. */
  MTIME: 0x20,
  /** Update the change time. */
  CTIME: 0x40,
  /** With ATIME: use `atime_sec`/`atime_nsec` instead of now. */
  ATIME_SET: 0x80,
  /** With MTIME: use `mtime_sec`/`mtime_nsec` instead of now. */
  MTIME_SET: 0x100,
} as const;

/** Tunlinkat flag: the name is a directory (Linux AT_REMOVEDIR). */
export const AT_REMOVEDIR = 0x200;

/** Linux errno values the protocol carries (.u errno, .L Rlerror). */
export const ERRNO = {
  /** Operation not permitted. */
  EPERM: 1,
  /** No such file or directory. */
  ENOENT: 2,
  /** Input/output error. */
  EIO: 5,
  /** No such device or address. */
  ENXIO: 6,
  /** Argument list too long. */
  E2BIG: 7,
  /** Bad file descriptor (a fid that is not open, or not open that way). */
  EBADF: 9,
  /** Try again. */
  EAGAIN: 11,
  /** Out of memory. */
  ENOMEM: 12,
  /** Permission denied. */
  EACCES: 13,
  /** Bad address. */
  EFAULT: 14,
  /** Device or resource busy. */
  EBUSY: 16,
  /** File exists. */
  EEXIST: 17,
  /** Cross-device link. */
  EXDEV: 18,
  /** No such device. */
  ENODEV: 19,
  /** Not a directory. */
  ENOTDIR: 20,
  /** Is a directory. */
  EISDIR: 21,
  /** Invalid argument. */
  EINVAL: 22,
  /** Too many open files in the system. */
  ENFILE: 23,
  /** Too many open files (per client: too many fids). */
  EMFILE: 24,
  /** File too large. */
  EFBIG: 27,
  /** No space left on device. */
  ENOSPC: 28,
  /** Illegal seek. */
  ESPIPE: 29,
  /** Read-only file system. */
  EROFS: 30,
  /** Too many links. */
  EMLINK: 31,
  /** Broken pipe. */
  EPIPE: 32,
  /** Result out of range. */
  ERANGE: 34,
  /** File name too long. */
  ENAMETOOLONG: 36,
  /** Function not implemented. */
  ENOSYS: 38,
  /** Directory not empty. */
  ENOTEMPTY: 39,
  /** Too many symbolic links. */
  ELOOP: 40,
  /** No data available (no such extended attribute). */
  ENODATA: 61,
  /** Protocol error. */
  EPROTO: 71,
  /** Value too large for the defined type. */
  EOVERFLOW: 75,
  /** Message too long. */
  EMSGSIZE: 90,
  /** Operation not supported. */
  EOPNOTSUPP: 95,
  /** Connection reset. */
  ECONNRESET: 104,
  /** Connection timed out. */
  ETIMEDOUT: 110,
  /** Operation canceled. */
  ECANCELED: 125,
} as const;

/** The name of an errno value in {@link ERRNO}, e.g. `ENOENT`. */
export type ErrnoName = keyof typeof ERRNO;
