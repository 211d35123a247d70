import { err, FlowError, ok, type Result } from '@flow/core';
import { type Dialect, HEADER_SIZE, MAXWELEM } from './constants';
import { type FieldKind, type FieldSpec, type MessageType, messageInDialect, messageTypeOf, SCHEMA } from './schema';
import type { Dirent, Message, Qid, Stat } from './types';

/** Fixed bytes of a 9P2000 stat after its size[2]: type dev qid mode atime mtime length + 4 empty strings. */
const STAT_FIXED = 2 + 4 + 13 + 4 + 4 + 4 + 8 + 4 * 2;
/** .u adds extension[s] n_uid n_gid n_muid. */
const STAT_U_EXTRA = 2 + 12;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Internal: carries a decode failure out of nested field readers; never escapes this module. */
class DecodeFailure {
  constructor(readonly message: string) {}
}

function protocolError(message: string): FlowError {
  return new FlowError('protocol', message, { code: 'EPROTO' });
}

/** A bound-checked cursor over untrusted bytes. */
class Cursor {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
    private readonly view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength),
  ) {
    this.pos = start;
  }
  need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      throw new DecodeFailure(`${what} at offset ${this.pos} needs ${n} bytes, ${this.end - this.pos} left`);
    }
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  str(what: string): string {
    const len = this.u16(`${what} length`);
    this.need(len, what);
    const bytes = this.buf.subarray(this.pos, this.pos + len);
    let s: string;
    try {
      s = utf8.decode(bytes);
    } catch {
      throw new DecodeFailure(`${what} at offset ${this.pos} is not valid UTF-8`);
    }
    this.pos += len;
    return s;
  }
  qid(what: string): Qid {
    this.need(13, what);
    const type = this.u8(what);
    const version = this.u32(what);
    const path = this.u64(what);
    return { type, version, path };
  }
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    // A view, not a copy: payloads are the bulk of a frame.
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

function readStat(c: Cursor, dialect: Dialect, what: string): Stat {
  const start = c.pos;
  const size = c.u16(`${what} size`);
  const min = STAT_FIXED + (dialect === '9P2000.u' ? STAT_U_EXTRA : 0);
  if (size < min) throw new DecodeFailure(`${what} size ${size} at offset ${start} is below the minimum ${min}`);
  c.need(size, what);
  const inner = new Cursor(c.buf, c.pos, c.pos + size);
  const type = inner.u16(`${what}.type`);
  const dev = inner.u32(`${what}.dev`);
  const qid = inner.qid(`${what}.qid`);
  const mode = inner.u32(`${what}.mode`);
  const atime = inner.u32(`${what}.atime`);
  const mtime = inner.u32(`${what}.mtime`);
  const length = inner.u64(`${what}.length`);
  const name = inner.str(`${what}.name`);
  const uid = inner.str(`${what}.uid`);
  const gid = inner.str(`${what}.gid`);
  const muid = inner.str(`${what}.muid`);
  let stat: Stat = { type, dev, qid, mode, atime, mtime, length, name, uid, gid, muid };
  if (dialect === '9P2000.u') {
    const extension = inner.str(`${what}.extension`);
    const nUid = inner.u32(`${what}.n_uid`);
    const nGid = inner.u32(`${what}.n_gid`);
    const nMuid = inner.u32(`${what}.n_muid`);
    stat = { ...stat, extension, nUid, nGid, nMuid };
  }
  // Bytes after the last known field are tolerated (forward compatibility, stat(5)).
  c.pos += size;
  return stat;
}

function readField(c: Cursor, kind: FieldKind, name: string, dialect: Dialect): unknown {
  switch (kind) {
    case 'u8':
      return c.u8(name);
    case 'u16':
      return c.u16(name);
    case 'u32':
      return c.u32(name);
    case 'u64':
      return c.u64(name);
    case 'str':
      return c.str(name);
    case 'qid':
      return c.qid(name);
    case 'data': {
      const n = c.u32(`${name} count`);
      return c.bytes(n, name);
    }
    case 'wnames': {
      const n = c.u16('nwname');
      if (n > MAXWELEM) throw new DecodeFailure(`nwname ${n} exceeds ${MAXWELEM}`);
      const names: string[] = [];
      for (let i = 0; i < n; i++) names.push(c.str(`wname[${i}]`));
      return names;
    }
    case 'qids': {
      const n = c.u16('nwqid');
      if (n > MAXWELEM) throw new DecodeFailure(`nwqid ${n} exceeds ${MAXWELEM}`);
      c.need(13 * n, 'qids');
      const qids: Qid[] = [];
      for (let i = 0; i < n; i++) qids.push(c.qid(`qid[${i}]`));
      return qids;
    }
    case 'stat': {
      const n = c.u16('stat n');
      c.need(n, 'stat');
      const inner = new Cursor(c.buf, c.pos, c.pos + n);
      const stat = readStat(inner, dialect, 'stat');
      if (inner.pos !== inner.end) {
        throw new DecodeFailure(`stat n ${n} disagrees with the stat's own size ${inner.pos - c.pos - 2}`);
      }
      c.pos += n;
      return stat;
    }
  }
}

/** Reads the size[4] of a frame; for framing before anything else is allocated. */
export function frameSize(buf: Uint8Array, offset = 0): number {
  return (buf[offset]! | (buf[offset + 1]! << 8) | (buf[offset + 2]! << 16)) + buf[offset + 3]! * 0x1000000;
}

/**
 * Decodes one whole frame (size[4] type[1] tag[2] body) in the given dialect. Never throws:
 * bad input yields a `protocol` FlowError naming the field and offset. Payload fields are views
 * into `frame`.
 */
export function decode(frame: Uint8Array, dialect: Dialect): Result<Message, FlowError> {
  if (frame.length < HEADER_SIZE) return err(protocolError(`frame of ${frame.length} bytes is shorter than 7`));
  const size = frameSize(frame);
  if (size !== frame.length) return err(protocolError(`frame size field ${size} disagrees with ${frame.length} bytes`));
  const code = frame[4]!;
  const tag = frame[5]! | (frame[6]! << 8);
  const type = messageTypeOf(code);
  if (type === undefined) return err(protocolError(`unknown message type ${code}`));
  if (!messageInDialect(type, dialect)) return err(protocolError(`message ${type} (${code}) does not exist in ${dialect}`));
  const fast = decodeFixed(frame, code, tag);
  if (fast) return ok(fast);
  const c = new Cursor(frame, HEADER_SIZE, frame.length);
  const msg: Record<string, unknown> = { type, tag };
  try {
    for (const spec of SCHEMA[type].fields as readonly FieldSpec[]) {
      const [name, kind, ext] = spec;
      if (ext === 'ext' && dialect === '9P2000') continue;
      msg[name] = readField(c, kind, name, dialect);
    }
  } catch (e) {
    if (e instanceof DecodeFailure) return err(protocolError(`${type}: ${e.message}`));
    throw e;
  }
  if (c.pos !== c.end) return err(protocolError(`${type}: ${c.end - c.pos} unexpected bytes after the last field`));
  return ok(msg as unknown as Message);
}

function u32At(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}

/**
 * The requests a busy server sees most (Tread, Tgetattr, Tclunk), decoded without the generic
 * schema walk when the frame has exactly their fixed size; anything else takes the generic
 * path, which gives the same value or the precise error. Dialect checks happen before.
 */
function decodeFixed(frame: Uint8Array, code: number, tag: number): Message | undefined {
  const n = frame.length;
  if (code === 116 && n === HEADER_SIZE + 16) {
    const offset = (BigInt(u32At(frame, 15)) << 32n) | BigInt(u32At(frame, 11));
    return { type: 'Tread', tag, fid: u32At(frame, 7), offset, count: u32At(frame, 19) };
  }
  if (code === 24 && n === HEADER_SIZE + 12) {
    const requestMask = (BigInt(u32At(frame, 15)) << 32n) | BigInt(u32At(frame, 11));
    return { type: 'Tgetattr', tag, fid: u32At(frame, 7), requestMask };
  }
  if (code === 120 && n === HEADER_SIZE + 4) return { type: 'Tclunk', tag, fid: u32At(frame, 7) };
  return undefined;
}

/** Decodes only type and tag, so a server can answer a request whose body is malformed. */
export function peekHeader(frame: Uint8Array):
  | {
      /** The message's type byte (see `SCHEMA`). */
      code: number;
      /** The message's tag. */
      tag: number;
    }
  | undefined {
  if (frame.length < HEADER_SIZE) return undefined;
  return { code: frame[4]!, tag: frame[5]! | (frame[6]! << 8) };
}

// ---------------------------------------------------------------------------------------------
// Encoding: the exact size is computed first, then written into one buffer.

class Writer {
  pos = 0;
  readonly view: DataView;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  u8(v: number): void {
    this.buf[this.pos++] = v & 0xff;
  }
  u16(v: number): void {
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }
  u32(v: number): void {
    this.view.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
  }
  u64(v: bigint): void {
    this.view.setBigUint64(this.pos, BigInt.asUintN(64, v), true);
    this.pos += 8;
  }
  raw(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  str(b: Uint8Array): void {
    this.u16(b.length);
    this.raw(b);
  }
  qid(q: Qid): void {
    this.u8(q.type);
    this.u32(q.version);
    this.u64(q.path);
  }
}

function strBytes(s: string, what: string): Uint8Array {
  if (typeof s !== 'string') throw new TypeError(`${what} must be a string`);
  const b = Buffer.from(s, 'utf8');
  if (b.length > 0xffff) throw new RangeError(`${what} is ${b.length} bytes, more than 65535`);
  return b;
}

function statSize(s: Stat, dialect: Dialect, strs: Uint8Array[]): number {
  const names = [s.name, s.uid, s.gid, s.muid];
  if (dialect === '9P2000.u') names.push(s.extension ?? '');
  let n = 2 + STAT_FIXED - 8;
  for (const x of names) {
    const b = strBytes(x, 'stat string');
    strs.push(b);
    n += 2 + b.length;
  }
  if (dialect === '9P2000.u') n += 12;
  return n;
}

function writeStat(w: Writer, s: Stat, dialect: Dialect, strs: Uint8Array[], size: number): void {
  w.u16(size - 2);
  w.u16(s.type);
  w.u32(s.dev);
  w.qid(s.qid);
  w.u32(s.mode);
  w.u32(s.atime);
  w.u32(s.mtime);
  w.u64(s.length);
  for (let i = 0; i < 4; i++) w.str(strs.shift()!);
  if (dialect === '9P2000.u') {
    w.str(strs.shift()!);
    w.u32(s.nUid ?? 0xffffffff);
    w.u32(s.nGid ?? 0xffffffff);
    w.u32(s.nMuid ?? 0xffffffff);
  }
}

const FIXED_SIZE: Record<'u8' | 'u16' | 'u32' | 'u64' | 'qid', number> = { u8: 1, u16: 2, u32: 4, u64: 8, qid: 13 };

/** A message whose fields all have a fixed size and exist in every dialect it has: its size and fields. */
interface FixedLayout {
  readonly size: number;
  readonly fields: readonly (readonly [name: string, kind: keyof typeof FIXED_SIZE])[];
}

/** Per message type: its fixed layout, or null when it has strings, data or dialect fields. */
const FIXED_LAYOUTS = new Map<MessageType, FixedLayout | null>();

function fixedLayout(type: MessageType): FixedLayout | null {
  let layout = FIXED_LAYOUTS.get(type);
  if (layout === undefined) {
    const fields = SCHEMA[type].fields as readonly FieldSpec[];
    const fixed = fields.every((f) => f[1] in FIXED_SIZE && f[2] !== 'ext');
    layout = fixed
      ? {
          size: fields.reduce((n, f) => n + FIXED_SIZE[f[1] as keyof typeof FIXED_SIZE], HEADER_SIZE),
          fields: fields.map((f) => [f[0], f[1] as keyof typeof FIXED_SIZE] as const),
        }
      : null;
    FIXED_LAYOUTS.set(type, layout);
  }
  return layout;
}

/**
 * The replies a busy server sends most (Rgetattr, Rclunk, Rwalk's fixed cousins) have no
 * strings: their size is known from the table, so they are written in one pass.
 */
function encodeFixed(msg: Message, code: number, layout: FixedLayout): Uint8Array {
  const values = msg as unknown as Record<string, unknown>;
  const buf = Buffer.allocUnsafe(layout.size);
  const view = new DataView(buf.buffer, buf.byteOffset, layout.size);
  view.setUint32(0, layout.size, true);
  buf[4] = code;
  view.setUint16(5, msg.tag, true);
  let at = HEADER_SIZE;
  for (const [name, kind] of layout.fields) {
    const v = values[name];
    if (v === undefined) throw new TypeError(`${msg.type}.${name} is missing`);
    switch (kind) {
      case 'u8':
        buf[at] = (v as number) & 0xff;
        break;
      case 'u16':
        view.setUint16(at, v as number, true);
        break;
      case 'u32':
        view.setUint32(at, (v as number) >>> 0, true);
        break;
      case 'u64':
        view.setBigUint64(at, v as bigint, true); // ToBigUint64 wraps modulo 2^64
        break;
      case 'qid': {
        const q = v as Qid;
        buf[at] = q.type & 0xff;
        view.setUint32(at + 1, q.version >>> 0, true);
        view.setBigUint64(at + 5, q.path, true);
        break;
      }
    }
    at += FIXED_SIZE[kind];
  }
  return buf;
}

function extDefault(name: string): unknown {
  return name === 'nUname' ? 0xffffffff : name === 'errno' ? 0 : '';
}

/**
 * Encodes a message in the given dialect. Throws only for programmer errors (a message that
 * does not exist in the dialect, a missing field, a string over 65535 bytes).
 */
export function encode(msg: Message, dialect: Dialect): Uint8Array {
  const type = msg.type as MessageType;
  const entry = SCHEMA[type];
  if (!entry) throw new TypeError(`unknown message type ${String(type)}`);
  if (!messageInDialect(type, dialect)) throw new TypeError(`${type} does not exist in ${dialect}`);
  const fixed = fixedLayout(type);
  if (fixed) return encodeFixed(msg, entry.code, fixed);
  const fields = (entry.fields as readonly FieldSpec[]).filter((f) => !(f[2] === 'ext' && dialect === '9P2000'));
  const values = msg as unknown as Record<string, unknown>;
  const strs: Uint8Array[] = [];
  const statSizes: number[] = [];
  let size = HEADER_SIZE;
  for (const [name, kind, ext] of fields) {
    let v = values[name];
    if (v === undefined && ext === 'ext') v = extDefault(name);
    if (v === undefined) throw new TypeError(`${type}.${name} is missing`);
    switch (kind) {
      case 'str': {
        const b = strBytes(v as string, `${type}.${name}`);
        strs.push(b);
        size += 2 + b.length;
        break;
      }
      case 'data':
        size += 4 + (v as Uint8Array).length;
        break;
      case 'wnames':
        size += 2;
        for (const n of v as readonly string[]) {
          const b = strBytes(n, `${type}.wname`);
          strs.push(b);
          size += 2 + b.length;
        }
        break;
      case 'qids':
        size += 2 + 13 * (v as readonly Qid[]).length;
        break;
      case 'stat': {
        const s = statSize(v as Stat, dialect, strs);
        statSizes.push(s);
        size += 2 + s;
        break;
      }
      default:
        size += FIXED_SIZE[kind];
    }
  }
  const buf = Buffer.allocUnsafe(size);
  const w = new Writer(buf);
  w.u32(size);
  w.u8(entry.code);
  w.u16(msg.tag);
  for (const [name, kind, ext] of fields) {
    let v = values[name];
    if (v === undefined && ext === 'ext') v = extDefault(name);
    switch (kind) {
      case 'u8':
        w.u8(v as number);
        break;
      case 'u16':
        w.u16(v as number);
        break;
      case 'u32':
        w.u32(v as number);
        break;
      case 'u64':
        w.u64(v as bigint);
        break;
      case 'str':
        w.str(strs.shift()!);
        break;
      case 'qid':
        w.qid(v as Qid);
        break;
      case 'data':
        w.u32((v as Uint8Array).length);
        w.raw(v as Uint8Array);
        break;
      case 'wnames': {
        const names = v as readonly string[];
        w.u16(names.length);
        for (let i = 0; i < names.length; i++) w.str(strs.shift()!);
        break;
      }
      case 'qids': {
        const qids = v as readonly Qid[];
        w.u16(qids.length);
        for (const q of qids) w.qid(q);
        break;
      }
      case 'stat': {
        const s = statSizes.shift()!;
        w.u16(s);
        writeStat(w, v as Stat, dialect, strs, s);
        break;
      }
    }
  }
  return buf;
}

/** Encodes one stat (as found back to back in a 9P2000/.u directory read). */
export function encodeStat(stat: Stat, dialect: '9P2000' | '9P2000.u'): Uint8Array {
  const strs: Uint8Array[] = [];
  const size = statSize(stat, dialect, strs);
  const buf = Buffer.allocUnsafe(size);
  writeStat(new Writer(buf), stat, dialect, strs, size);
  return buf;
}

/** Decodes the stats of a 9P2000/.u directory read. Never throws. */
export function decodeStats(data: Uint8Array, dialect: '9P2000' | '9P2000.u'): Result<Stat[], FlowError> {
  const c = new Cursor(data, 0, data.length);
  const out: Stat[] = [];
  try {
    while (c.pos < c.end) out.push(readStat(c, dialect, `stat[${out.length}]`));
  } catch (e) {
    if (e instanceof DecodeFailure) return err(protocolError(`directory data: ${e.message}`));
    throw e;
  }
  return ok(out);
}

/** Encodes one 9P2000.L directory entry: qid[13] offset[8] type[1] name[s]. */
export function encodeDirent(d: Dirent): Uint8Array {
  const name = strBytes(d.name, 'dirent name');
  const buf = Buffer.allocUnsafe(24 + name.length);
  const w = new Writer(buf);
  w.qid(d.qid);
  w.u64(d.offset);
  w.u8(d.type);
  w.str(name);
  return buf;
}

/** Decodes the entries of an Rreaddir. Never throws. */
export function decodeDirents(data: Uint8Array): Result<Dirent[], FlowError> {
  const c = new Cursor(data, 0, data.length);
  const out: Dirent[] = [];
  try {
    while (c.pos < c.end) {
      const qid = c.qid('dirent qid');
      const offset = c.u64('dirent offset');
      const type = c.u8('dirent type');
      const name = c.str('dirent name');
      out.push({ qid, offset, type, name });
    }
  } catch (e) {
    if (e instanceof DecodeFailure) return err(protocolError(`readdir data: ${e.message}`));
    throw e;
  }
  return ok(out);
}
