const CR = 0x0d;
const NL = 0x0a;
const BS = 0x08;
const DEL = 0x7f;
/** ^U, VKILL: erases the whole line. */
const KILL = 0x15;
const ERASE_ECHO = [BS, 0x20, BS];

/** Linux's N_TTY_BUF_SIZE: a canonical line holds at most this many bytes, newline included. */
export const MAX_LINE = 4096;

/**
 * The input side of a Linux tty in its default cooked mode (n_tty with ICANON, ECHO, ECHOE,
 * ICRNL, and ONLCR on output), with `cat` reading it: each input byte is echoed as it arrives;
 * CR becomes NL; DEL or BS erases the last byte (echoed as BS space BS) and ^U the whole line;
 * a completed line is written back by the program, its NL sent as CR NL. A line longer than
 * the tty's buffer loses the bytes that do not fit, as n_tty drops them.
 */
export class LineDiscipline {
  #line: number[] = [];

  /** Feeds input; returns what the tty and the program write back (echo, then completed lines). */
  input(bytes: Uint8Array): Uint8Array {
    const out: number[] = [];
    for (const raw of bytes) {
      const b = raw === CR ? NL : raw;
      if (b === DEL || b === BS) {
        if (this.#line.length > 0) {
          this.#line.pop();
          out.push(...ERASE_ECHO);
        }
      } else if (b === KILL) {
        for (; this.#line.length > 0; this.#line.pop()) out.push(...ERASE_ECHO);
      } else if (b === NL) {
        out.push(CR, NL, ...this.#line, CR, NL);
        this.#line = [];
      } else if (this.#line.length < MAX_LINE - 1) {
        this.#line.push(b);
        out.push(b);
      }
    }
    return Uint8Array.from(out);
  }

  /** Bytes of the line being typed. */
  get pending(): number {
    return this.#line.length;
  }
}
