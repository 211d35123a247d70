import type { MappedPage } from '../ring/memory';
import { CONSOLE_LAYOUT } from '../ring/layout';

/** What happens when a page is unmapped: the grant table uses it to count mappings. */
export interface PageOptions {
  /** Called once, by the first `unmap()`. */
  readonly onUnmap?: () => void;
  /** A read-only mapping: stores throw, as a write through a read-only grant would fault. */
  readonly writable?: boolean;
}

/**
 * The checks every simulated page makes before touching memory. Misuse is a programmer error and
 * throws: an access after unmap (on real Xen, a SIGSEGV), an unaligned or out-of-page offset, a
 * store through a read-only mapping.
 */
export abstract class CheckedPage implements MappedPage {
  /** Whether stores are allowed; a store through a read-only mapping throws. */
  readonly writable: boolean;
  #mapped = true;
  readonly #onUnmap: (() => void) | undefined;

  protected constructor(options: PageOptions) {
    this.writable = options.writable ?? true;
    this.#onUnmap = options.onUnmap;
  }

  get mapped(): boolean {
    return this.#mapped;
  }

  /** Releases the page; every later access throws. A second call does nothing. */
  unmap(): void {
    if (!this.#mapped) return;
    this.#mapped = false;
    this.#onUnmap?.();
  }

  loadU32(offset: number): number {
    this.checkWord(offset, 'loadU32');
    return this.load(offset);
  }

  storeU32(offset: number, value: number): void {
    this.checkWord(offset, 'storeU32');
    this.checkWritable('storeU32');
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new RangeError(`storeU32: ${value} is not a u32`);
    }
    this.store(offset, value);
  }

  readBytes(offset: number, length: number, target: Uint8Array, targetOffset: number): void {
    this.checkRange(offset, length, 'readBytes');
    if (!Number.isInteger(targetOffset) || targetOffset < 0 || targetOffset + length > target.length) {
      throw new RangeError(`readBytes: ${length} bytes do not fit the target at ${targetOffset}`);
    }
    if (length > 0) this.copyOut(offset, length, target, targetOffset);
  }

  writeBytes(offset: number, source: Uint8Array): void {
    this.checkRange(offset, source.length, 'writeBytes');
    this.checkWritable('writeBytes');
    if (source.length > 0) this.copyIn(offset, source);
  }

  fence(): void {
    this.checkMapped('fence');
    this.fullBarrier();
  }

  /** The u32 (little-endian) at `offset`, already checked to be an aligned word of the page. */
  protected abstract load(offset: number): number;
  /** Stores the u32 `value` (little-endian) at `offset`, already checked. */
  protected abstract store(offset: number, value: number): void;
  /** Copies `length` bytes at `offset` into `target` at `targetOffset`, already checked. */
  protected abstract copyOut(offset: number, length: number, target: Uint8Array, targetOffset: number): void;
  /** Copies `source` into the page at `offset`, already checked. */
  protected abstract copyIn(offset: number, source: Uint8Array): void;
  /** A full memory barrier. */
  protected abstract fullBarrier(): void;

  /** Throws (a programmer error) if the page was unmapped; `operation` names the access in the message. */
  protected checkMapped(operation: string): void {
    if (!this.#mapped) throw new Error(`${operation}: the page was unmapped; this access is a use after unmap`);
  }

  private checkWritable(operation: string): void {
    if (!this.writable) throw new Error(`${operation}: the page is mapped read-only`);
  }

  private checkWord(offset: number, operation: string): void {
    this.checkMapped(operation);
    if (!Number.isInteger(offset) || offset < 0 || offset > CONSOLE_LAYOUT.PAGE_SIZE - 4 || offset % 4 !== 0) {
      throw new RangeError(`${operation}: offset ${offset} is not an aligned 32-bit word of the page`);
    }
  }

  private checkRange(offset: number, length: number, operation: string): void {
    this.checkMapped(operation);
    if (
      !Number.isInteger(offset) ||
      !Number.isInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > CONSOLE_LAYOUT.PAGE_SIZE
    ) {
      throw new RangeError(`${operation}: ${length} bytes at offset ${offset} are outside the page`);
    }
  }
}
