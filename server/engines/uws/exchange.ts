/**
 * Responses that are not written inside the uWS callback: an app that answered with a promise, a
 * stream or a file. `res` stays valid only until the response ends or the client aborts, so every
 * step checks `aborted`; and every step's failure ends here as a logged 500 (nothing sent yet) or
 * a cut connection (a head already sent), never as a rejection nobody handles.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { HttpResponse } from 'uWebSockets.js';
import { INTERNAL_ERROR } from '../../../app/errors.ts';
import type { FileBody, Response } from '../../../app/interface.ts';
import type { HostedRequest } from '../../../app/request.ts';
import { isFileBody, json } from '../../../app/response.ts';
import { bodyless } from '../../../wire/status-line.ts';
import { appTiming } from '../outgoing.ts';
import type { BodyPipe } from './body.ts';
import type { EngineContext } from './context.ts';
import type { UwsPeer } from './request.ts';
import { appLength, BAD_HEADERS_BODY, closeIterable, endBodyless, flattenChecked, JSON_TYPE, writeHead, writeWhole } from './response.ts';

const FILE_GONE: Response = json(404, { detail: 'Not found.' });
const FILE_CHUNK = 64 * 1024;

/** One request whose answer is written after the uWS callback returned: it must survive an abort. */
export class Exchange {
  aborted = false;
  finished = false;
  /** Whether the response head has gone to uWS (from then on a failure can only cut the connection). */
  headSent = false;
  #writable: (() => void) | null = null;

  constructor(
    readonly context: EngineContext,
    readonly res: HttpResponse,
    readonly request: HostedRequest,
    readonly peer: UwsPeer | null,
    readonly pipe: BodyPipe | null,
    readonly start: number,
  ) {}

  readonly onAborted = (): void => {
    this.aborted = true;
    this.peer?.detach();
    this.pipe?.abort();
    this.#wakeWritable();
    if (!this.finished) {
      this.finished = true;
      this.context.active--;
    }
  };

  #wakeWritable(): void {
    const wake = this.#writable;
    if (wake !== null) {
      this.#writable = null;
      wake();
    }
  }

  /** Resolves when the socket can take more (or the client is gone). */
  writable(): Promise<void> {
    return new Promise((resolve) => {
      this.#writable = resolve;
      this.res.onWritable(() => {
        this.#wakeWritable();
        return true;
      });
    });
  }

  get closeAfter(): boolean {
    return this.context.draining || (this.pipe !== null && !this.pipe.complete);
  }

  /** Write the head (once) with the app's headers. */
  head(status: number, list: string[], timing: string | null): void {
    this.headSent = true;
    writeHead(this.res, status, list, timing);
  }

  finish(status: number, bytes: number): void {
    if (this.finished) return;
    this.finished = true;
    if (this.context.onAccess !== undefined) this.context.log(this.request, status, bytes, this.start);
    this.peer?.detach();
    this.context.active--;
  }

  /**
   * The last resort for a failure no step above caught: report it, then answer 500 if nothing
   * was written yet, else cut the connection (a truncated response must not look complete).
   */
  readonly fail = (error: unknown): void => {
    this.context.report(error, this.request);
    if (!this.aborted && !this.finished) {
      const res = this.res;
      if (this.headSent) res.close();
      else {
        this.headSent = true;
        res.cork(() => writeWhole(res, this.request, 500, JSON_TYPE, INTERNAL_ERROR.body as string, null, true, false));
      }
    }
    this.finish(500, 0);
  };
}

/** Send a response that may need to wait (stream, file); every write runs corked. */
export function respondLater(ex: Exchange, response: Response): void {
  if (ex.aborted) return;
  const { res, request, context } = ex;
  const body = response.body;
  const timing = context.serverTiming ? appTiming(performance.now() - ex.start) : null;
  const list = flattenChecked(response.headers);
  const declared = appLength;
  const status = response.status;
  const count = context.onAccess !== undefined;
  if (list === null) {
    context.report(new TypeError('app sent a response header that is not a token or has control characters'), request);
    ex.headSent = true;
    res.cork(() => writeWhole(res, request, 500, JSON_TYPE, BAD_HEADERS_BODY, timing, ex.closeAfter, false));
    ex.finish(500, 0);
    return;
  }
  if (typeof body === 'string' || body instanceof Uint8Array || body === null || body === undefined || bodyless(status)) {
    closeIterable(body);
    let bytes = 0;
    ex.headSent = true;
    res.cork(() => {
      bytes = writeWhole(res, request, status, list, typeof body === 'string' || body instanceof Uint8Array ? body : null, timing, ex.closeAfter, count);
    });
    ex.finish(status, bytes);
    return;
  }
  const sending = isFileBody(body) ? sendFile(ex, status, list, timing, body) : sendStream(ex, status, list, timing, body as AsyncIterable<Uint8Array | string>, declared);
  sending.catch(ex.fail);
}

async function sendFile(ex: Exchange, status: number, list: string[], timing: string | null, body: FileBody): Promise<void> {
  const offset = body.offset ?? 0;
  let length = body.length;
  if (length === undefined) {
    try {
      const info = await stat(body.path);
      if (!info.isFile()) throw Object.assign(new Error(`not a regular file: ${body.path}`), { code: 'ENOENT' });
      length = Math.max(0, info.size - offset);
    } catch (error) {
      const fallback = (error as NodeJS.ErrnoException).code === 'ENOENT' ? FILE_GONE : (ex.context.report(error, ex.request) ?? INTERNAL_ERROR);
      respondLater(ex, fallback);
      return;
    }
  }
  if (ex.aborted) return;
  const { res, request } = ex;
  if (request.method === 'HEAD' || length === 0) {
    res.cork(() => {
      ex.head(status, list, timing);
      res.writeHeader('content-length', String(length));
      endBodyless(res, ex.closeAfter);
    });
    ex.finish(status, 0);
    return;
  }
  let sent = 0;
  const stream = createReadStream(body.path, { start: offset, end: offset + length - 1, highWaterMark: FILE_CHUNK });
  try {
    let first = true;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (ex.aborted) break;
      const done = await writeSized(ex, chunk, length, first ? () => ex.head(status, list, timing) : null);
      first = false;
      sent += chunk.byteLength;
      if (done) break;
    }
    if (!ex.aborted && sent < length) throw new Error(`file ${body.path} ended after ${sent} of ${length} bytes`);
  } catch (error) {
    ex.context.report(error, request);
    if (!ex.aborted) res.close();
  } finally {
    stream.destroy();
    ex.finish(status, sent);
  }
}

/**
 * tryEnd() one chunk of a body whose total size is known, waiting on onWritable while the socket
 * is full. Resolves true when the whole response has been written.
 */
async function writeSized(ex: Exchange, chunk: Uint8Array, total: number, head: (() => void) | null): Promise<boolean> {
  const res = ex.res;
  const startOffset = res.getWriteOffset();
  let result: [boolean, boolean] = [false, false];
  res.cork(() => {
    head?.();
    result = res.tryEnd(chunk, total);
  });
  while (!result[0] && !result[1] && !ex.aborted) {
    await ex.writable();
    if (ex.aborted) break;
    res.cork(() => {
      result = res.tryEnd(chunk.subarray(res.getWriteOffset() - startOffset), total);
    });
  }
  return result[1];
}

async function sendStream(ex: Exchange, status: number, list: string[], timing: string | null, body: AsyncIterable<Uint8Array | string>, declared: number): Promise<void> {
  const { res, request } = ex;
  if (request.method === 'HEAD') {
    closeIterable(body);
    res.cork(() => {
      ex.head(status, list, timing);
      if (declared >= 0) res.writeHeader('content-length', String(declared));
      endBodyless(res, ex.closeAfter);
    });
    ex.finish(status, 0);
    return;
  }
  const iterator = body[Symbol.asyncIterator]();
  let sent = 0;
  let first = true;
  let complete = false;
  try {
    for (;;) {
      const next = await iterator.next();
      if (ex.aborted) break;
      if (next.done) {
        if (declared >= 0 && sent !== declared) throw new Error(`stream declared content-length ${declared} but produced ${sent} bytes`);
        if (declared < 0)
          res.cork(() => {
            if (first) ex.head(status, list, timing);
            res.end(undefined, ex.closeAfter);
          });
        complete = true;
        break;
      }
      const value = next.value;
      if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
        throw new TypeError(`response body stream yielded ${typeof value}, not bytes or a string`);
      }
      const chunk = typeof value === 'string' ? Buffer.from(value) : value;
      if (chunk.byteLength === 0) continue;
      sent += chunk.byteLength;
      const head = first ? () => ex.head(status, list, timing) : null;
      first = false;
      if (declared >= 0) {
        if (await writeSized(ex, chunk, declared, head)) {
          complete = sent === declared;
          if (!complete) throw new Error(`stream produced more than its declared content-length ${declared}`);
          break;
        }
        continue;
      }
      let ok = true;
      res.cork(() => {
        head?.();
        ok = res.write(chunk);
      });
      if (!ok) await ex.writable();
    }
  } catch (error) {
    // A failure before the head went out is still a clean 500; after it, only a cut is honest.
    if (!ex.headSent) {
      ex.fail(error);
      return;
    }
    ex.context.report(error, request);
    if (!ex.aborted) res.close();
  } finally {
    if (!complete) await iterator.return?.()?.catch?.(() => {});
    ex.finish(status, sent);
  }
}
