import { err, OK, type FlowError, type Result } from '@flow/core';
import type { MappedPage } from '../ring/memory';
import type { PageHandle, XenBinding } from './native-binding';
import { errnoError } from './native-errors';

/** The part of the addon a page uses. */
export type NativePageAccess = Pick<
  XenBinding,
  'pageMapped' | 'pageLoadU32' | 'pageStoreU32' | 'pageRead' | 'pageWrite' | 'pageFence' | 'unmapGrant'
>;

/** Options of the {@link NativePage} constructor. */
export interface NativePageOptions {
  /** Whether the mapping is writable (stores to a read-only one throw). */
  readonly writable: boolean;
  /** Called once, by the first `unmap()` (the platform forgets the page). */
  readonly onUnmap?: () => void;
  /** What the page is, for error messages (e.g. "grant 8 of domain 1"). */
  readonly description?: string;
}

/**
 * A page mapped by the addon (a guest's grant, or an anonymous test page), seen only through
 * native accessors: each one is a single N-API call that checks the "mapped" flag and the bounds
 * before touching memory, so a stale page throws instead of faulting and the JIT can never hoist
 * or merge a load of memory that the guest changes under us.
 */
export class NativePage implements MappedPage {
  /** Whether stores are allowed (a store to a read-only mapping throws). */
  readonly writable: boolean;
  readonly #binding: NativePageAccess;
  readonly #handle: PageHandle;
  readonly #description: string;
  #onUnmap: (() => void) | undefined;

  constructor(binding: NativePageAccess, handle: PageHandle, options: NativePageOptions) {
    this.#binding = binding;
    this.#handle = handle;
    this.writable = options.writable;
    this.#onUnmap = options.onUnmap;
    this.#description = options.description ?? 'a page';
  }

  /** False once the page was unmapped; every access then throws. */
  get mapped(): boolean {
    return this.#binding.pageMapped(this.#handle);
  }

  loadU32(offset: number): number {
    return this.#binding.pageLoadU32(this.#handle, offset);
  }

  storeU32(offset: number, value: number): void {
    this.#binding.pageStoreU32(this.#handle, offset, value);
  }

  readBytes(offset: number, length: number, target: Uint8Array, targetOffset: number): void {
    this.#binding.pageRead(this.#handle, offset, length, target, targetOffset);
  }

  writeBytes(offset: number, source: Uint8Array): void {
    this.#binding.pageWrite(this.#handle, offset, source);
  }

  /** A full barrier; like every access, a use after unmap throws. */
  fence(): void {
    if (!this.mapped) throw new Error('fence: the page was unmapped; this access is a use after unmap');
    this.#binding.pageFence();
  }

  /** Releases the mapping; every later access throws. A second call does nothing. */
  unmap(): void {
    this.release();
  }

  /**
   * `unmap()` with its outcome: an error when the kernel refused to release the grant slot (the
   * page is gone from this process either way; the slot goes when the device closes).
   */
  release(): Result<void, FlowError> {
    if (!this.mapped) return OK;
    const rc = this.#binding.unmapGrant(this.#handle);
    const onUnmap = this.#onUnmap;
    this.#onUnmap = undefined;
    onUnmap?.();
    return rc < 0 ? err(errnoError(rc, 'ioctl', `unmapping ${this.#description}`)) : OK;
  }
}
