import * as fs from 'node:fs';
import * as path from 'node:path';
import { decode, type Dialect, encode, exportDirectory, type Message, SCHEMA } from '../src';
import { rawSession } from './support/raw';
import { allMessages, sampleMessage } from './support/samples';
import { prng } from './support/prng';
import { tempDir } from './support/tmp';

const DIALECTS: Dialect[] = ['9P2000', '9P2000.u', '9P2000.L'];
// Bounded by default; FLOW_9P_FUZZ_SCALE=50 (for example) runs a longer campaign.
const SCALE = Math.max(1, Number(process.env.FLOW_9P_FUZZ_SCALE ?? 1) || 1);
const SEED = Number(process.env.FLOW_9P_FUZZ_SEED ?? 0x9e3779b9) >>> 0;
const CODES = Object.values(SCHEMA).map((e) => e.code);

/** A corpus of valid frames, then mutations of them: bit flips, truncation, size lies, splices. */
function mutate(rand: () => number, base: Uint8Array): Uint8Array {
  const b = Buffer.from(base);
  const pick = Math.floor(rand() * 6);
  if (pick === 0) {
    for (let i = 0; i < 1 + rand() * 4; i++) b[Math.floor(rand() * b.length)] ^= 1 << Math.floor(rand() * 8);
    return b;
  }
  if (pick === 1) {
    const cut = b.subarray(0, Math.floor(rand() * b.length));
    if (cut.length >= 4) cut.writeUInt32LE(cut.length, 0);
    return cut;
  }
  if (pick === 2) {
    // A length field inside the body claims far more than the frame holds.
    if (b.length > 9) b.writeUInt16LE(0xffff, 7 + Math.floor(rand() * (b.length - 9)));
    return b;
  }
  if (pick === 3) {
    b[4] = CODES[Math.floor(rand() * CODES.length)]!;
    return b;
  }
  if (pick === 4) {
    const extra = Buffer.from(Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)));
    const out = Buffer.concat([b, extra]);
    out.writeUInt32LE(out.length, 0);
    return out;
  }
  const rnd = Buffer.from(Array.from({ length: 7 + Math.floor(rand() * 60) }, () => Math.floor(rand() * 256)));
  rnd.writeUInt32LE(rnd.length, 0);
  return rnd;
}

describe('decoder fuzzing (bounded)', () => {
  test.each(DIALECTS)('random and mutated frames in %s decode to a value or a typed error, never a throw', (dialect) => {
    const rand = prng(SEED ^ dialect.length);
    const corpus = allMessages()
      .filter(([, d]) => d === dialect)
      .map(([t], i) => encode(sampleMessage(t, dialect, i + 1), dialect));
    let errors = 0;
    let values = 0;
    for (let i = 0; i < 20000 * SCALE; i++) {
      const frame = mutate(rand, corpus[i % corpus.length]!);
      const r = decode(frame, dialect);
      if (r.ok) {
        values++;
        // Whatever decodes re-encodes without a throw, to a frame no bigger than the input.
        expect(encode(r.value, dialect).length).toBeLessThanOrEqual(frame.length);
      } else {
        errors++;
        expect(r.error.kind).toBe('protocol');
        expect(typeof r.error.message).toBe('string');
      }
    }
    expect(errors).toBeGreaterThan(1000);
    expect(values).toBeGreaterThan(100);
  }, 30000 * SCALE);
});

describe('server fuzzing (bounded)', () => {
  test.each(DIALECTS)('mutated request streams in %s never crash the server, and it keeps answering', async (dialect) => {
    // (The timeout grows with the campaign; the default run takes about a second.)
    const tmp = tempDir();
    fs.mkdirSync(path.join(tmp.dir, 'd'));
    fs.writeFileSync(path.join(tmp.dir, 'd', 'f'), 'data');
    const rand = prng(SEED + 1234 + dialect.length);
    const requests = allMessages().filter(([t, d]) => d === dialect && t.startsWith('T') && t !== 'Tversion');
    const s = await rawSession(exportDirectory(tmp.dir), dialect, { maxFids: 64 });
    // Fuzz a copy of the tree under fid 0: a clone that the fuzzer may clunk, move or remove.
    let sent = 0;
    for (let i = 0; i < 1500 * SCALE; i++) {
      const [t] = requests[Math.floor(rand() * requests.length)]!;
      const m = sampleMessage(t, dialect, Math.floor(rand() * 1e6)) as unknown as Record<string, unknown>;
      // Point most requests at real fids so they reach deep into the handlers.
      for (const k of ['fid', 'dfid', 'newfid', 'olddirfid', 'newdirfid', 'dirfid', 'afid']) if (k in m) m[k] = Math.floor(rand() * 6) + 1;
      if ('wnames' in m) m.wnames = [['d'], ['d', 'f'], ['..'], [], ['x']][Math.floor(rand() * 5)];
      if ('count' in m) m.count = Math.floor(rand() * 70000);
      if ('oldtag' in m) m.oldtag = 100 + Math.floor(rand() * 50);
      if ('name' in m && rand() < 0.5) m.name = `n${Math.floor(rand() * 4)}`;
      m.tag = 100 + (i % 50);
      let frame = Buffer.from(encode(m as never, dialect));
      if (rand() < 0.3) frame = Buffer.from(mutate(rand, frame));
      // Keep framing intact (a true size >= 7) so the stream stays in sync, and leave Tversion out
      // (it legitimately resets the session); the contents are hostile.
      if (frame.length < 7 || frame[4] === 100) continue;
      frame.writeUInt32LE(frame.length, 0);
      await s.conn.sendBytes(frame);
      sent++;
      if (i % 50 === 49) {
        // Let replies drain so the in-flight bound is exercised without a deadlock.
        await s.conn.send({ type: 'Tclunk', tag: 60000, fid: 0xfffffff0 });
        for (;;) {
          const r = await s.conn.recv();
          if (r.tag === 60000) break;
        }
      }
    }
    expect(sent).toBeGreaterThan(1000);
    // Still alive: a fresh attach and getattr-or-stat work.
    // Replies to fuzzed requests may still be arriving (out of order is legal): wait for ours.
    const answer = async (m: Message): Promise<Message> => {
      await s.conn.send(m);
      for (;;) {
        const r = await s.conn.recv();
        if (r.tag === m.tag) return r;
      }
    };
    const at = await answer({ type: 'Tattach', tag: 60001, fid: 5000, afid: 0xffffffff, uname: 'u', aname: '', nUname: 0 });
    expect(at.type).toBe('Rattach');
    const st =
      dialect === '9P2000.L'
        ? await answer({ type: 'Tgetattr', tag: 60002, fid: 5000, requestMask: 0x7ffn })
        : await answer({ type: 'Tstat', tag: 60002, fid: 5000 });
    expect(st.type === 'Rgetattr' || st.type === 'Rstat' ? 'ok' : st).toBe('ok');
    const summary = await s.end();
    expect(summary.outcome).toBe('eof');
    tmp.cleanup();
  }, 30000 * SCALE);
});
