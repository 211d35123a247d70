import { type Dialect, type FieldSpec, type Message, messageInDialect, type MessageType, SCHEMA } from '../../src';

/** A deterministic sample value for every field of every message, for round trips. */
export function sampleMessage(type: MessageType, dialect: Dialect, seed = 1): Message {
  const msg: Record<string, unknown> = { type, tag: (seed * 7) & 0xfffe };
  let n = seed;
  const next = (): number => (n = (n * 1103515245 + 12345) >>> 0);
  for (const [name, kind, ext] of SCHEMA[type].fields as readonly FieldSpec[]) {
    if (ext === 'ext' && dialect === '9P2000') continue;
    switch (kind) {
      case 'u8':
        msg[name] = next() & 0xff;
        break;
      case 'u16':
        msg[name] = next() & 0xffff;
        break;
      case 'u32':
        msg[name] = next();
        break;
      case 'u64':
        msg[name] = (BigInt(next()) << 32n) | BigInt(next());
        break;
      case 'str':
        msg[name] = `s${next() % 1000}-é`;
        break;
      case 'qid':
        msg[name] = { type: 0x80, version: next(), path: BigInt(next()) };
        break;
      case 'data':
        msg[name] = Buffer.from(Array.from({ length: next() % 64 }, () => next() & 0xff));
        break;
      case 'wnames':
        msg[name] = ['a', 'bb', '..', 'ünï'].slice(0, next() % 5);
        break;
      case 'qids':
        msg[name] = Array.from({ length: next() % 5 }, () => ({ type: 0, version: next(), path: BigInt(next()) }));
        break;
      case 'stat': {
        const base = {
          type: next() & 0xffff, dev: next(), qid: { type: 0, version: 1, path: 42n }, mode: next(), atime: next(),
          mtime: next(), length: BigInt(next()), name: 'file', uid: 'u', gid: 'g', muid: 'm',
        };
        msg[name] = dialect === '9P2000.u' ? { ...base, extension: 'ext', nUid: next(), nGid: next(), nMuid: next() } : base;
        break;
      }
    }
  }
  return msg as unknown as Message;
}

/** Every (message type, dialect) pair that exists. */
export function allMessages(): [MessageType, Dialect][] {
  const out: [MessageType, Dialect][] = [];
  for (const t of Object.keys(SCHEMA) as MessageType[]) {
    for (const d of ['9P2000', '9P2000.u', '9P2000.L'] as Dialect[]) if (messageInDialect(t, d)) out.push([t, d]);
  }
  return out;
}
