import type { Flow, WriteOptions, WriteResult } from './flow';

/** Writes `text` as UTF-8; resolves once the flow accepted all of it, as `write` does. */
export function writeString(flow: Flow, text: string, options: Omit<WriteOptions, 'transfer'> = {}): Promise<WriteResult> {
  // The encoded buffer is ours alone, so the flow may keep it without a copy.
  return flow.write(Buffer.from(text, 'utf8'), { ...options, transfer: true });
}
