import { CONSOLE_LAYOUT } from '../ring/layout';
import { CheckedPage, type PageOptions } from './page-access';

/**
 * A page in an ordinary `ArrayBuffer`: one thread, fully deterministic. For unit and property
 * tests of the ring, where a scripted adversary changes the page between our calls.
 */
export class PlainPage extends CheckedPage {
  readonly #view: DataView;
  readonly #bytes: Uint8Array;

  constructor(buffer: ArrayBuffer = new ArrayBuffer(CONSOLE_LAYOUT.PAGE_SIZE), options: PageOptions = {}) {
    super(options);
    if (buffer.byteLength !== CONSOLE_LAYOUT.PAGE_SIZE) {
      throw new RangeError(`a page is ${CONSOLE_LAYOUT.PAGE_SIZE} bytes, not ${buffer.byteLength}`);
    }
    this.#view = new DataView(buffer);
    this.#bytes = new Uint8Array(buffer);
  }

  protected load(offset: number): number {
    return this.#view.getUint32(offset, true);
  }

  protected store(offset: number, value: number): void {
    this.#view.setUint32(offset, value, true);
  }

  protected copyOut(offset: number, length: number, target: Uint8Array, targetOffset: number): void {
    target.set(this.#bytes.subarray(offset, offset + length), targetOffset);
  }

  protected copyIn(offset: number, source: Uint8Array): void {
    this.#bytes.set(source, offset);
  }

  /** One thread: program order is the only order. */
  protected fullBarrier(): void {}
}
