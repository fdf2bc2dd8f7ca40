/**
 * The request body on the uWS engine: uWS pushes chunks (res.onData), the app pulls them through
 * StreamedBody. When the app lags, the socket is paused instead of buffering without bound.
 */
import type { HttpResponse } from 'uWebSockets.js';
import { ClientGone } from '../client-gone.ts';

/** Request body bytes buffered for an app that is not reading before uWS stops reading the socket. */
const BODY_HIGH_WATER = 64 * 1024;

/** Chunks pushed by res.onData, read by the app through StreamedBody; pauses uWS when the app lags. */
export class BodyPipe implements AsyncIterable<Uint8Array> {
  complete = false;
  #res: HttpResponse;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #received = 0;
  #paused = false;
  #failed: Error | null = null;
  #wake: (() => void) | null = null;
  readonly #limit: number;

  constructor(res: HttpResponse, limit: number) {
    this.#res = res;
    this.#limit = limit;
  }

  /** res.onData handler. uWS neuters the ArrayBuffer after we return, so each chunk is copied. */
  readonly push = (chunk: ArrayBuffer, last: boolean): void => {
    const size = chunk.byteLength;
    if (size > 0) {
      this.#received += size;
      // Past the limit the app gets its 413 from StreamedBody; keep no more than one chunk beyond.
      if (this.#received - size <= this.#limit) {
        this.#chunks.push(Buffer.from(new Uint8Array(chunk)));
        this.#buffered += size;
      }
      if (this.#buffered > BODY_HIGH_WATER && !this.#paused && !last) {
        this.#paused = true;
        this.#res.pause();
      }
    }
    if (last) this.complete = true;
    this.#signal();
  };

  /** The client went away: a reader waiting for the next chunk gets ClientGone. */
  abort(): void {
    this.#failed = new ClientGone();
    this.#signal();
  }

  #signal(): void {
    const wake = this.#wake;
    if (wake !== null) {
      this.#wake = null;
      wake();
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk !== undefined) {
        this.#buffered -= chunk.byteLength;
        if (this.#paused && this.#buffered < BODY_HIGH_WATER / 2 && this.#failed === null) {
          this.#paused = false;
          this.#res.resume();
        }
        yield chunk;
        continue;
      }
      if (this.complete) return;
      if (this.#failed !== null) throw this.#failed;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
}
