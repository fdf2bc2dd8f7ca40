/**
 * Request bodies. Hosts wrap whatever byte source they have (a node:http IncomingMessage, chunks
 * pushed by uWebSockets.js, a Buffer in tests) in a StreamedBody, which enforces the server's
 * body limit while the app reads, so no app can be made to buffer more than the operator allows.
 */
import { HttpError } from './errors.ts';
import type { RequestBody } from './interface.ts';

const EMPTY = Buffer.alloc(0);

/** The 413 every host answers for a body past its limit. */
export function bodyTooLarge(limit: number): HttpError {
  return new HttpError(413, `Request body is larger than the limit of ${limit} bytes.`);
}

/** A body read from an async byte source, never past `maxSize` bytes in total. */
export class StreamedBody implements RequestBody {
  readonly length: number | null;
  #source: AsyncIterable<Uint8Array> | null;
  #maxSize: number;

  /**
   * @param source the bytes as they arrive; null for a request without a body.
   * @param length the declared Content-Length, or null if chunked/none.
   * @param maxSize the server's limit; reading past it fails with 413.
   */
  constructor(source: AsyncIterable<Uint8Array> | null, length: number | null, maxSize: number) {
    this.#source = source;
    this.length = length;
    this.#maxSize = maxSize;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const source = this.#take();
    if (source === null) return;
    if (this.length !== null && this.length > this.#maxSize) throw bodyTooLarge(this.#maxSize);
    let seen = 0;
    for await (const chunk of source) {
      seen += chunk.byteLength;
      if (seen > this.#maxSize) throw bodyTooLarge(this.#maxSize);
      yield chunk;
    }
  }

  async bytes(limit?: number): Promise<Buffer> {
    const max = limit === undefined ? this.#maxSize : Math.min(limit, this.#maxSize);
    if (this.length !== null && this.length > max) {
      this.#discard();
      throw bodyTooLarge(max);
    }
    const source = this.#take();
    if (source === null) return EMPTY;
    const chunks: Uint8Array[] = [];
    let seen = 0;
    for await (const chunk of source) {
      seen += chunk.byteLength;
      if (seen > max) throw bodyTooLarge(max);
      chunks.push(chunk);
    }
    if (chunks.length === 1) return Buffer.from(chunks[0]!.buffer, chunks[0]!.byteOffset, chunks[0]!.byteLength);
    return Buffer.concat(chunks, seen);
  }

  async text(limit?: number): Promise<string> {
    return (await this.bytes(limit)).toString('utf8');
  }

  #take(): AsyncIterable<Uint8Array> | null {
    if (this.#taken) throw new Error('request body was already read: read it once and pass the bytes on');
    this.#taken = true;
    return this.#source;
  }

  #taken = false;

  #discard(): void {
    this.#taken = true;
  }
}

/** A body held in memory (test client, or a host that buffered it already). */
export function bufferedBody(data: Uint8Array | string | null, maxSize = Number.MAX_SAFE_INTEGER): RequestBody {
  if (data === null) return new StreamedBody(null, null, maxSize);
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  return new StreamedBody(
    (async function* () {
      if (bytes.byteLength > 0) yield bytes;
    })(),
    bytes.byteLength,
    maxSize,
  );
}
