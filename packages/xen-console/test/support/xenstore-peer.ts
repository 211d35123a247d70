import { EOF, pair, type Flow } from '@flow/core';
import { encodeFrame, FrameDecoder, XsType, type XsFrame } from '../../src/xenstore';

/**
 * The other end of a xenstore connection, driven byte by byte by a test: a scripted (possibly
 * hostile) server for the client, or a scripted client for the simulator.
 */
export class RawPeer {
  private readonly decoder = new FrameDecoder({ maxPayload: 1 << 20 });
  private readonly frames: XsFrame[] = [];
  private ended = false;

  // Nothing is read until the test asks: a peer that does not call next() is a peer that does
  // not read, and the other side sees backpressure.
  constructor(readonly flow: Flow) {}

  private async readMore(): Promise<void> {
    const r = await this.flow.read();
    if (!r.ok || r.value === EOF) {
      this.ended = true;
      return;
    }
    const frames = this.decoder.push(r.value);
    if (!frames.ok) this.ended = true;
    else this.frames.push(...frames.value);
  }

  /** Whether the other side closed or broke the connection (as far as read so far). */
  get isEnded(): boolean {
    return this.ended;
  }

  /** The next frame the other side sent; undefined once it closed. */
  async next(): Promise<XsFrame | undefined> {
    while (this.frames.length === 0 && !this.ended) await this.readMore();
    return this.frames.shift();
  }

  /** Reads (and keeps) everything until the other side has closed or broken the connection. */
  async untilEnded(): Promise<void> {
    while (!this.ended) await this.readMore();
  }

  async send(frame: XsFrame): Promise<void> {
    const r = await this.flow.write(encodeFrame(frame, 1 << 24));
    if (!r.ok) throw r.error;
  }

  async sendRaw(bytes: Uint8Array): Promise<void> {
    const r = await this.flow.write(bytes);
    if (!r.ok) throw r.error;
  }

  /** Answers `to` with OK, or with `payload` and its type. */
  async reply(to: XsFrame, payload: string | Buffer = 'OK\0', type = to.type): Promise<void> {
    await this.send({ type, reqId: to.reqId, txId: to.txId, payload: typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload });
  }

  async event(path: string, token: string): Promise<void> {
    await this.send({ type: XsType.WATCH_EVENT, reqId: 0, txId: 0, payload: Buffer.from(`${path}\0${token}\0`, 'latin1') });
  }
}

/** A connected pair: a flow for the code under test, and a RawPeer on the other end. */
export function rawPair(): { flow: Flow; peer: RawPeer } {
  const [a, b] = pair({ capacity: 1 << 20 });
  return { flow: a, peer: new RawPeer(b) };
}

/** A 16-byte xsd_sockmsg header. */
export function header(type: number, reqId: number, txId: number, len: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(reqId, 4);
  b.writeUInt32LE(txId, 8);
  b.writeUInt32LE(len, 12);
  return b;
}

/** The payload of a frame as text, NULs shown as `|` (xenstore.txt's notation). */
export function shown(frame: XsFrame | undefined): string {
  return frame ? frame.payload.toString('latin1').replace(/\0/g, '|') : '<none>';
}
