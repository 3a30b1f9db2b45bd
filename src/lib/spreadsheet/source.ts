/** A byte source as an async iterable of Buffers, whatever the stream hands out. */
export type Chunks = AsyncIterable<Buffer>;

export const toBuffer = (chunk: unknown): Buffer =>
  Buffer.isBuffer(chunk) ? chunk : typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);

/**
 * Reads at least `bytes` leading bytes (fewer if the source is shorter) and gives them back together with the whole
 * source, unconsumed, so the format can be sniffed without buffering the file.
 */
export async function peek(
  input: AsyncIterable<unknown>,
  bytes: number,
): Promise<{ head: Buffer; chunks: Chunks; release: () => Promise<unknown> }> {
  const iterator = input[Symbol.asyncIterator]();
  const buffered: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < bytes) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    const chunk = toBuffer(next.value);
    buffered.push(chunk);
    size += chunk.length;
  }
  async function* chunks() {
    try {
      yield* buffered;
      while (!done) {
        const next = await iterator.next();
        if (next.done) return;
        yield toBuffer(next.value);
      }
    } finally {
      await iterator.return?.();
    }
  }
  // A generator that never started skips its finally: `release` lets a caller that gives up early free the input.
  const release = async () => iterator.return?.();
  return { head: Buffer.concat(buffered), chunks: chunks(), release };
}

/** Counts the bytes flowing through, for progress ("how far into the file"). */
export async function* counting(input: AsyncIterable<unknown>, counter: { bytesRead: number }): AsyncGenerator<Buffer> {
  for await (const raw of input) {
    const chunk = toBuffer(raw);
    counter.bytesRead += chunk.length;
    yield chunk;
  }
}
