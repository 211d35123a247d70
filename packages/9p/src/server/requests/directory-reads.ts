// Listing a directory, the two ways the dialects do it. 9P2000 and .u read a directory as a
// stream of stats at byte offsets, which only a snapshot taken at offset 0 keeps stable: it is
// charged to the connection's memory account while the fid holds it. 9P2000.L's Treaddir
// offsets are cookies the server chooses: a hash of each name, so that a read resumes from a
// fresh listing and nothing is kept between reads.
import { createHash } from 'node:crypto';
import { fsError, type FsNode, type FsResult } from '../../fs/filesystem';
import { encodeDirent, encodeStat } from '../../wire/codec';
import { RREAD_HEADER } from '../../wire/constants';
import type { Qid } from '../../wire/types';
import type { DirListing, FidEntry } from '../fid-table';
import type { MemoryAccount } from '../memory-budget';
import { direntType, statOf } from '../modes';
import type { Outcome, Req, RequestContext } from '../request';
import { unixExtension } from './attributes';

/** A 9P2000.L dirent without its name: qid 13, offset 8, type 1, name length 2. */
const DIRENT_FIXED = 24;

/** Fixed overhead the server reckons for one kept directory snapshot (objects, bookkeeping). */
const LISTING_OVERHEAD = 256;

/** The 9P2000/.u stats of a directory, in order (the snapshot its reads are cut from). */
async function statListing(s: RequestContext, e: FidEntry): Promise<FsResult<Uint8Array[]>> {
  const r = await e.node.readdir();
  if (!r.ok) return r;
  const out: Uint8Array[] = [];
  const dotu = s.dialect === '9P2000.u';
  const push = async (name: string, node: FsNode): Promise<void> => {
    const a = await node.getattr();
    if (!a.ok) return; // vanished since the listing
    const stat = statOf(name, a.value, dotu, dotu ? await unixExtension(node, a.value) : '');
    out.push(encodeStat(stat, dotu ? '9P2000.u' : '9P2000'));
  };
  if (dotu) {
    // Linux's .u readdir shows only what the server lists (it adds no '.' and '..' of its
    // own, unlike .L's) and QEMU lists the host directory's own, so a Unix client gets them
    // here too. Plain 9P2000 keeps Plan 9's rule: a directory never lists itself.
    await push('.', e.node);
    await push('..', e.parents[e.parents.length - 1]?.node ?? e.node);
  }
  for (const d of r.value) {
    const child = await e.node.walk(d.name);
    if (child.ok) await push(d.name, child.value);
  }
  return { ok: true, value: out };
}

/** Packs stats end to end and charges the snapshot to the connection's memory account. */
function snapshot(account: MemoryAccount, stats: readonly Uint8Array[]): FsResult<DirListing> {
  let total = 0;
  for (const st of stats) total += st.length;
  const cost = total + 4 * stats.length + LISTING_OVERHEAD;
  if (!account.reserve(cost)) {
    return {
      ok: false,
      error: fsError(
        'ENOMEM',
        `a listing of ${stats.length} entries (${cost} bytes) does not fit in this connection's share of the server's memory budget ` +
          `(${account.inUse} of ${account.budget.share} bytes in use); clunk directory fids you are done with`,
      ),
    };
  }
  const data = Buffer.allocUnsafe(total);
  const ends = new Uint32Array(stats.length);
  let at = 0;
  stats.forEach((st, i) => {
    data.set(st, at);
    at += st.length;
    ends[i] = at;
  });
  return { ok: true, value: { data, ends, cost, nextOffset: 0, nextIndex: 0 } };
}

/** Frees the snapshot an open directory fid holds, if any. */
export function dropListing(account: MemoryAccount, open: FidEntry['open']): void {
  if (open?.kind === 'dir' && open.listing) {
    account.release(open.listing.cost);
    open.listing = undefined;
  }
}

/** A 9P2000/.u Tread of a directory: the next whole stats of its snapshot that fit in `count`. */
export async function readStatDir(
  s: RequestContext,
  t: number,
  e: FidEntry,
  open: { kind: 'dir'; listing: DirListing | undefined },
  offset: number,
  count: number,
): Promise<Outcome> {
  let listing = open.listing;
  let fresh: DirListing | undefined;
  if (offset === 0 || !listing) {
    if (offset !== 0) return s.fail(t, fsError('EINVAL', 'directory reads must start at offset 0'));
    const l = await statListing(s, e);
    if (!l.ok) return s.fail(t, l.error);
    const snap = snapshot(s.account, l.value);
    if (!snap.ok) return s.fail(t, snap.error);
    listing = fresh = snap.value;
  } else if (offset !== listing.nextOffset) {
    return s.fail(t, fsError('EINVAL', `directory offset ${offset} is not the next one (${listing.nextOffset})`));
  }
  const from = listing.nextIndex === 0 ? 0 : listing.ends[listing.nextIndex - 1]!;
  let i = listing.nextIndex;
  // A stat that does not fit ends the read short, even at no bytes, never with an error:
  // Linux's p9_client_read asks again for whatever room its buffer has left until a read
  // comes back empty, and fails the whole listing on an error (QEMU answers the same way).
  while (i < listing.ends.length && listing.ends[i]! - from <= count) i++;
  const to = i === 0 ? 0 : listing.ends[i - 1]!;
  const data = Buffer.from(listing.data.subarray(from, to));
  const snap = listing;
  return {
    reply: { type: 'Rread', tag: t, data },
    commit: () => {
      if (fresh) {
        if (open.listing !== fresh) dropListing(s.account, open);
        open.listing = fresh;
      }
      snap.nextOffset = offset + data.length;
      snap.nextIndex = i;
      return undefined;
    },
    rollback: () => {
      if (fresh) s.account.release(fresh.cost);
    },
  };
}

/**
 * Treaddir without a snapshot: 9P2000.L's offset is a cookie the server chooses, so each
 * entry's cookie is a hash of its name and entries go out in cookie order. A read resumes
 * after the cookie it is given, from a fresh listing, so nothing is kept between reads, and
 * entries removed in between (rm -r, find -delete) shift nothing. Cookies 1 and 2 are '.'
 * and '..'.
 */
export async function readdir(s: RequestContext, m: Req<'Treaddir'>): Promise<Outcome> {
  const t = m.tag;
  const r = s.entry(m.fid);
  if (!r.ok) return s.fail(t, r.error);
  const e = r.value;
  const open = e.open;
  if (open?.kind !== 'dir') return s.fail(t, fsError(open ? 'ENOTDIR' : 'EBADF'));
  if (m.offset > BigInt(Number.MAX_SAFE_INTEGER)) return s.fail(t, fsError('EINVAL', 'offset too large'));
  const cursor = Number(m.offset);
  const count = Math.min(m.count, s.msize - RREAD_HEADER);
  const parts: Uint8Array[] = [];
  let size = 0;
  let more = false;
  const put = (name: string, qid: Qid, cookie: number): boolean => {
    const d = encodeDirent({ qid, offset: BigInt(cookie), type: direntType(qid.type), name });
    if (size + d.length > count) return false;
    parts.push(d);
    size += d.length;
    return true;
  };
  const parent = e.parents[e.parents.length - 1]?.node ?? e.node;
  if (cursor < 1 && !put('.', e.qid, 1)) more = true;
  if (!more && cursor < 2 && !put('..', parent.qid, 2)) more = true;
  if (!more) {
    const listed = await cookieOrder(e.node);
    if (!listed.ok) return s.fail(t, listed.error);
    const list = listed.value;
    // The first entry whose cookie is past the cursor (binary search: the list is sorted).
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.cookie <= cursor) lo = mid + 1;
      else hi = mid;
    }
    // A dirent's size depends on its name only: pick the entries that fit first, then look
    // up just those (the back end's lookupEntries does it in one go).
    let end = lo;
    let room = count - size;
    while (end < list.length) {
      const need = DIRENT_FIXED + Buffer.byteLength(list[end]!.name);
      if (need > room) break;
      room -= need;
      end++;
    }
    more = end < list.length;
    const page = list.slice(lo, end);
    const qids = new Map<string, Qid>();
    if (page.some((d) => !d.qid)) {
      if (e.node.lookupEntries) {
        const found = await e.node.lookupEntries(page.map((d) => d.name));
        if (!found.ok) return s.fail(t, found.error);
        for (const d of found.value) qids.set(d.name, d.qid);
      } else {
        for (const d of page) {
          const child = await e.node.walk(d.name);
          if (child.ok) qids.set(d.name, child.value.qid);
        }
      }
    }
    for (const d of page) {
      const qid = d.qid ?? qids.get(d.name);
      if (qid) put(d.name, qid, d.cookie); // else: vanished since the listing
    }
  }
  if (parts.length === 0 && more) return s.fail(t, fsError('EINVAL', 'count too small for the next entry'));
  return { reply: { type: 'Rreaddir', tag: t, data: Buffer.concat(parts) } };
}

/** A name's Treaddir cookie: 53 bits of its MD5 (native, fast), above '.' (1) and '..' (2). */
export function direntCookie(name: string): number {
  const h = createHash('md5').update(name).digest();
  const cookie = h.readUInt32LE(0) * 0x200000 + (h.readUInt32LE(4) >>> 11);
  return cookie < 3 ? cookie + 3 : cookie;
}

/**
 * A directory's entries in cookie order, from a fresh listing: names only when the back end can
 * give them (the qids of the few a reply holds are then looked up), else its whole readdir.
 * Two names with the same cookie (a 2^-53 chance per pair) would make a resumed read skip one.
 */
async function cookieOrder(node: FsNode): Promise<FsResult<{ name: string; cookie: number; qid?: Qid }[]>> {
  let list: { name: string; cookie: number; qid?: Qid }[];
  if (node.readdirNames) {
    const r = await node.readdirNames();
    if (!r.ok) return r;
    list = r.value.map((name) => ({ name, cookie: direntCookie(name) }));
  } else {
    const r = await node.readdir();
    if (!r.ok) return r;
    list = r.value.map((d) => ({ name: d.name, cookie: direntCookie(d.name), qid: d.qid }));
  }
  list.sort((x, y) => x.cookie - y.cookie || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return { ok: true, value: list };
}
