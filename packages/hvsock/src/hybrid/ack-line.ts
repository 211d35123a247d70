import { MAX_VSOCK_PORT } from './connect-line';

/**
 * The most bytes the VMM's acknowledgement may take, newline included. Firecracker's own tests
 * read it with `recv(32)`; the longest real line, `OK 4294967295\n`, has 14.
 */
export const MAX_ACK_LINE_BYTES = 32;

/** Why a reply is not an acknowledgement. */
export type AckLineProblem = 'malformed' | 'too-long';

/** The outcome of feeding bytes to an `AckLineReader`. */
export type AckLineStep =
  /** No newline yet; feed more. */
  | {
      /** Nothing decided yet: no newline came, and there is room for more. */
      readonly status: 'incomplete';
    }
  /**
   * A well-formed `OK <n>\n`: `ackPort` is the number (opaque: Firecracker and Cloud Hypervisor
   * send the host-side port they assigned, in [2^30, 2^31); vhost-device-vsock the guest port).
   * `rest` holds the bytes of the last chunk after the newline: the first stream data.
   */
  | {
      /** A well-formed acknowledgement. */
      readonly status: 'ok';
      /** The number after `OK`, a u32; opaque (see above). */
      readonly ackPort: number;
      /** The bytes of the last chunk after the newline (a view into it, not a copy): the first stream data. */
      readonly rest: Uint8Array;
    }
  /** Not an acknowledgement; `line` is what came (at most MAX_ACK_LINE_BYTES bytes). */
  | {
      /** `too-long`: no newline within MAX_ACK_LINE_BYTES bytes; `malformed`: a line that is not `OK <n>` with a u32. */
      readonly status: AckLineProblem;
      /** The bytes received (a copy): the whole line with its newline when `malformed`. */
      readonly line: Uint8Array;
    };

/**
 * Parses one acknowledgement line without its `\n`: `OK`, in any case, then blanks, then a
 * decimal u32, optionally followed by blanks or a `\r`. Returns the number, or undefined when
 * the line is anything else.
 */
export function parseAckLine(line: Uint8Array): number | undefined {
  // latin1 maps every byte to one character, so no byte can hide in a decoding error.
  const text = Buffer.from(line.buffer, line.byteOffset, line.byteLength).toString('latin1');
  const match = /^[Oo][Kk][ \t]+([0-9]+)[ \t]*\r?$/.exec(text);
  if (!match) return undefined;
  const n = Number(match[1]);
  return n <= MAX_VSOCK_PORT ? n : undefined;
}

/**
 * Reads the VMM's `OK <n>\n` from a stream that arrives in arbitrary chunks. It keeps at most
 * MAX_ACK_LINE_BYTES bytes however the peer splits or pads its reply, copies nothing after the
 * newline (that part of the chunk is returned as `rest`), and gives up as soon as the line
 * cannot be an acknowledgement any more. Once it returned anything but `incomplete` it must not
 * be fed again.
 */
export class AckLineReader {
  private readonly held = new Uint8Array(MAX_ACK_LINE_BYTES);
  private length = 0;
  private done = false;

  /** The bytes of an unfinished line received so far (a copy). */
  get received(): Uint8Array {
    return this.held.slice(0, this.length);
  }

  /**
   * Feeds the next chunk of the reply: `incomplete` while no newline came and there is room, else
   * the outcome. Throws when called again after an outcome (a programmer error).
   */
  push(chunk: Uint8Array): AckLineStep {
    if (this.done) throw new Error('AckLineReader was fed after it finished');
    const room = MAX_ACK_LINE_BYTES - this.length;
    const newline = chunk.subarray(0, room).indexOf(0x0a);
    if (newline < 0) {
      const take = Math.min(room, chunk.length);
      this.held.set(chunk.subarray(0, take), this.length);
      this.length += take;
      if (this.length < MAX_ACK_LINE_BYTES) return { status: 'incomplete' };
      this.done = true;
      return { status: 'too-long', line: this.received };
    }
    this.done = true;
    this.held.set(chunk.subarray(0, newline), this.length);
    this.length += newline;
    const line = this.held.subarray(0, this.length);
    const ackPort = parseAckLine(line);
    if (ackPort === undefined) {
      const withNewline = new Uint8Array(this.length + 1);
      withNewline.set(line);
      withNewline[this.length] = 0x0a;
      return { status: 'malformed', line: withNewline };
    }
    return { status: 'ok', ackPort, rest: chunk.subarray(newline + 1) };
  }
}
