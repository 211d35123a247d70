/**
 * A byte buffer bounded the way xenconsoled's `--overflow-data=discard` is: when more than
 * 5/4 of `limit` is held, the middle is dropped so that the first `limit/2` bytes and the
 * newest bytes are kept (the start of a boot log and what is happening now).
 */
export class DiscardMiddleBuffer {
  private chunks: Uint8Array[] = [];
  private bytes = 0;
  /** Bytes dropped so far. */
  discarded = 0;

  /** @param limit - The cap, in bytes (an integer of at least 4): the middle is dropped beyond 5/4 of it. */
  constructor(readonly limit: number) {
    if (!(Number.isInteger(limit) && limit >= 4)) throw new RangeError('limit must be an integer >= 4');
  }

  /** Bytes held now. */
  get length(): number {
    return this.bytes;
  }

  /** Adds `chunk` at the end (kept by reference), then drops the middle if more than 5/4 of `limit` is held. */
  append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes > Math.floor((this.limit * 5) / 4)) this.dropMiddle();
  }

  /** Takes up to `max` bytes from the front. */
  take(max: number): Uint8Array | undefined {
    if (this.bytes === 0 || max <= 0) return undefined;
    const head = this.chunks[0] as Uint8Array;
    if (head.length <= max) {
      this.chunks.shift();
      this.bytes -= head.length;
      return head;
    }
    this.chunks[0] = head.subarray(max);
    this.bytes -= max;
    return head.subarray(0, max);
  }

  private dropMiddle(): void {
    const all = Buffer.concat(this.chunks);
    const keepHead = Math.floor(this.limit / 2);
    const keepTail = this.limit - keepHead;
    const kept = Buffer.concat([all.subarray(0, keepHead), all.subarray(all.length - keepTail)]);
    this.discarded += all.length - kept.length;
    this.chunks = [kept];
    this.bytes = kept.length;
  }
}
