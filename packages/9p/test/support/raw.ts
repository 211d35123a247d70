import { type Flow, pair } from '@flow/core';
import { decode, type Dialect, encode, type Filesystem, FrameReader, type Message, serve9p, type Serve9pOptions, type SessionSummary } from '../../src';

/** A hand-driven 9P connection to our server: send any message, read replies one by one. */
export class RawConn {
  private readonly reader: FrameReader;
  constructor(
    readonly flow: Flow,
    public dialect: Dialect,
  ) {
    this.reader = new FrameReader(flow, 1 << 24);
  }
  async send(m: Message, dialect: Dialect = this.dialect): Promise<void> {
    const r = await this.flow.write(encode(m, dialect));
    if (!r.ok) throw r.error;
  }
  async sendBytes(b: Uint8Array): Promise<void> {
    const r = await this.flow.write(b);
    if (!r.ok) throw r.error;
  }
  async recv(): Promise<Message> {
    const ev = await this.reader.next();
    if (ev.kind !== 'frame') throw new Error(`no frame: ${ev.kind}`);
    const r = decode(ev.frame, ev.frame[4] === 101 ? '9P2000' : this.dialect);
    if (!r.ok) throw r.error;
    return r.value;
  }
  /** Next event, to check that the server ended the stream. */
  next(): ReturnType<FrameReader['next']> {
    return this.reader.next();
  }
  async rpc(m: Message): Promise<Message> {
    await this.send(m);
    return this.recv();
  }
}

/** Our server on one end of a pair, a RawConn on the other, already past Tversion (+ Tattach of fid 0). */
export async function rawSession(
  fs: Filesystem,
  dialect: Dialect,
  options: Serve9pOptions & { attach?: boolean; clientMsize?: number } = {},
): Promise<{ conn: RawConn; served: Promise<SessionSummary>; end: () => Promise<SessionSummary> }> {
  const [a, b] = pair();
  const served = serve9p(b, fs, options);
  const conn = new RawConn(a, dialect);
  const v = await conn.rpc({ type: 'Tversion', tag: 0xffff, msize: options.clientMsize ?? 65536, version: dialect });
  if (v.type !== 'Rversion' || v.version !== dialect) throw new Error(`version failed: ${JSON.stringify(v)}`);
  if (options.attach !== false) {
    const at = await conn.rpc({ type: 'Tattach', tag: 1, fid: 0, afid: 0xffffffff, uname: 'u', aname: '', nUname: 0 });
    if (at.type !== 'Rattach') throw new Error(`attach failed: ${JSON.stringify(at)}`);
  }
  return {
    conn,
    served,
    end: async () => {
      await a.shutdownWrite();
      const s = await served;
      await a.close({ timeoutMs: 2000 });
      return s;
    },
  };
}

/** The errno of an error reply (Rlerror or .u Rerror), or undefined. */
export function errnoOf(m: Message): number | undefined {
  if (m.type === 'Rlerror') return m.ecode;
  if (m.type === 'Rerror') return m.errno ?? -1;
  return undefined;
}
