import { createHash, type Hash } from 'node:crypto';

/** A running SHA-256 that costs nothing when verification is off. */
export class Digest {
  private readonly hash: Hash | undefined;
  bytes = 0;

  constructor(enabled: boolean) {
    this.hash = enabled ? createHash('sha256') : undefined;
  }

  update(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    this.hash?.update(chunk);
  }

  /** Hex digest, or undefined when verification is off. */
  finish(): string | undefined {
    return this.hash?.digest('hex');
  }
}
