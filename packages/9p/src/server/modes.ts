import type { Attr, OpenIntent, SetAttr } from '../fs/filesystem';
import { DM, LFLAGS, NONUNAME, OMODE, QT, S_IF, SETATTR } from '../wire/constants';
import type { Stat } from '../wire/types';

/** 9P2000/.u Topen/Tcreate mode → intent. OCEXEC (0x20) is accepted and means nothing here. */
export function intentFromOmode(mode: number): OpenIntent & { removeOnClunk: boolean } {
  const io = mode & 3;
  return {
    read: io === OMODE.READ || io === OMODE.RDWR || io === OMODE.EXEC,
    write: io === OMODE.WRITE || io === OMODE.RDWR,
    truncate: (mode & OMODE.TRUNC) !== 0,
    append: (mode & OMODE.APPEND) !== 0,
    removeOnClunk: (mode & OMODE.RCLOSE) !== 0,
  };
}

/** 9P2000.L Tlopen/Tlcreate flags (Linux O_*) → intent. */
export function intentFromLflags(flags: number): OpenIntent {
  const acc = flags & 3;
  return {
    read: acc === LFLAGS.RDONLY || acc === LFLAGS.RDWR || acc === LFLAGS.NOACCESS,
    write: acc === LFLAGS.WRONLY || acc === LFLAGS.RDWR,
    truncate: (flags & LFLAGS.TRUNC) !== 0,
    append: (flags & LFLAGS.APPEND) !== 0,
  };
}

/** The qid type bits of a Linux st_mode. */
export function qidTypeOfMode(mode: number): number {
  const t = mode & S_IF.MT;
  if (t === S_IF.DIR) return QT.DIR;
  if (t === S_IF.LNK) return QT.SYMLINK;
  return QT.FILE;
}

/** Linux d_type of a qid (for Rreaddir). */
export function direntType(qidType: number): number {
  if (qidType & QT.DIR) return 4;
  if (qidType & QT.SYMLINK) return 10;
  return 8;
}

/** st_mode → 9P2000 / .u stat mode. */
export function dmModeOf(mode: number, dotu: boolean): number {
  let m = mode & 0o777;
  const t = mode & S_IF.MT;
  if (t === S_IF.DIR) m |= DM.DIR;
  if (dotu) {
    if (t === S_IF.LNK) m |= DM.SYMLINK;
    else if (t === S_IF.BLK || t === S_IF.CHR) m |= DM.DEVICE;
    else if (t === S_IF.FIFO) m |= DM.NAMEDPIPE;
    else if (t === S_IF.SOCK) m |= DM.SOCKET;
    if (mode & 0o4000) m |= DM.SETUID;
    if (mode & 0o2000) m |= DM.SETGID;
    if (mode & 0o1000) m |= DM.SETVTX;
  }
  return m >>> 0;
}

/** 9P2000 / .u permission bits → the st_mode permission bits they ask for. */
export function permBitsOfDm(dm: number): number {
  let m = dm & 0o777;
  if (dm & DM.SETUID) m |= 0o4000;
  if (dm & DM.SETGID) m |= 0o2000;
  if (dm & DM.SETVTX) m |= 0o1000;
  return m;
}

const NS = 1_000_000_000n;

/**
 * Builds the 9P2000 / .u stat of a file. In .u, `extension` is what the type needs (a
 * symlink's target, a device's "b|c major minor"); regular files and directories carry
 * "HARDLINKCOUNT <n>" there instead, since the .u stat has no link-count field: Linux's
 * v9fs reads st_nlink from it (v9fs_stat2inode), as QEMU's server writes it.
 */
export function statOf(name: string, attr: Attr, dotu: boolean, extension: string): Stat {
  const isDir = (attr.mode & S_IF.MT) === S_IF.DIR;
  const base: Stat = {
    type: 0,
    dev: 0,
    qid: attr.qid,
    mode: dmModeOf(attr.mode, dotu),
    atime: Number((attr.atimeNs / NS) & 0xffffffffn),
    mtime: Number((attr.mtimeNs / NS) & 0xffffffffn),
    length: isDir ? 0n : attr.size,
    name,
    uid: String(attr.uid),
    gid: String(attr.gid),
    muid: '',
  };
  if (!dotu) return base;
  const t = attr.mode & S_IF.MT;
  const ext = extension === '' && (t === S_IF.REG || t === S_IF.DIR) ? `HARDLINKCOUNT ${attr.nlink}` : extension;
  return { ...base, extension: ext, nUid: attr.uid, nGid: attr.gid, nMuid: NONUNAME };
}

const U32_ALL = 0xffffffff;
const U64_ALL = 0xffffffffffffffffn;

/** Twstat "don't touch" fields → the changes it asks for. */
export function setattrOfWstat(stat: Stat, dotu: boolean): SetAttr {
  const changes: { -readonly [K in keyof SetAttr]: SetAttr[K] } = {};
  if (stat.mode !== U32_ALL) changes.mode = permBitsOfDm(stat.mode);
  if (stat.length !== U64_ALL) changes.size = stat.length;
  if (stat.mtime !== U32_ALL) changes.mtime = BigInt(stat.mtime) * NS;
  if (stat.atime !== U32_ALL) changes.atime = BigInt(stat.atime) * NS;
  if (dotu) {
    if (stat.nUid !== undefined && stat.nUid !== U32_ALL) changes.uid = stat.nUid;
    if (stat.nGid !== undefined && stat.nGid !== U32_ALL) changes.gid = stat.nGid;
  }
  return changes;
}

/** Tsetattr fields → the changes it asks for. */
export function setattrOfL(m: {
  valid: number;
  mode: number;
  uid: number;
  gid: number;
  size: bigint;
  atimeSec: bigint;
  atimeNsec: bigint;
  mtimeSec: bigint;
  mtimeNsec: bigint;
}): SetAttr {
  const changes: { -readonly [K in keyof SetAttr]: SetAttr[K] } = {};
  if (m.valid & SETATTR.MODE) changes.mode = m.mode & 0o7777;
  if (m.valid & SETATTR.UID) changes.uid = m.uid;
  if (m.valid & SETATTR.GID) changes.gid = m.gid;
  if (m.valid & SETATTR.SIZE) changes.size = m.size;
  if (m.valid & SETATTR.ATIME) changes.atime = m.valid & SETATTR.ATIME_SET ? m.atimeSec * NS + m.atimeNsec : 'now';
  if (m.valid & SETATTR.MTIME) changes.mtime = m.valid & SETATTR.MTIME_SET ? m.mtimeSec * NS + m.mtimeNsec : 'now';
  return changes;
}
