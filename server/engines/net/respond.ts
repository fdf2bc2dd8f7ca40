/**
 * Putting an app's Response on an Http1Response (wire/http1): a whole body in one write, a
 * stream or a file with backpressure. The server frames the body (Content-Length, chunked, or
 * close-delimited for HTTP/1.0), adds Date, and decides keep-alive; HEAD and 1xx/204/304 go out
 * without a body whatever is passed.
 *
 * Every step that can fail ends in a logged 500 (nothing written yet) or a cut connection (a
 * head already sent): a truncated response never looks complete.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { INTERNAL_ERROR } from '../../../app/errors.ts';
import type { FileBody, Request, Response } from '../../../app/interface.ts';
import { isFileBody, json } from '../../../app/response.ts';
import type { Http1Response } from '../../../wire/http1/response.ts';
import type { NetContext } from './context.ts';
import { appTiming } from '../outgoing.ts';
import { appLength, flattenChecked } from '../response-headers.ts';

const FILE_GONE: Response = json(404, { detail: 'Not found.' });
const FILE_CHUNK = 64 * 1024;
const JSON_TYPE = ['content-type', 'application/json'];
const BAD_HEADERS_BODY = Buffer.from('{"detail":"Internal server error: the app sent headers that cannot be sent."}');
const INTERNAL_BODY = Buffer.from(INTERNAL_ERROR.body as string);

/** The app's response on the wire. */
export function respond(context: NetContext, request: Request, response: Response, res: Http1Response): void {
  if (res.finished) return; // the client left while the app worked
  let list = flattenChecked(response.headers);
  const declared = appLength;
  if (list === null) {
    context.report(new TypeError('app sent a response header that is not a token or has control characters'), request);
    res.send(500, '', JSON_TYPE, BAD_HEADERS_BODY);
    return;
  }
  if (context.serverTiming) list = [...list, 'server-timing', appTiming(performance.now() - res.receivedAt)];
  const status = response.status;
  const body = response.body;
  if (body === undefined || body === null) res.send(status, '', list, null);
  else if (typeof body === 'string') res.send(status, '', list, Buffer.from(body));
  else if (body instanceof Uint8Array) res.send(status, '', list, Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  else if (isFileBody(body)) sendFile(context, request, status, list, body, res).catch((error: unknown) => fail(context, request, res, error));
  else sendStream(context, request, status, list, body, declared, res).catch((error: unknown) => fail(context, request, res, error));
}

/** The last resort: report, then a 500 if no head went out, else cut the connection. */
export function fail(context: NetContext, request: Request, res: Http1Response, error: unknown): void {
  context.report(error, request);
  if (res.finished) return;
  if (res.headersSent) res.destroy();
  else {
    res.keepAlive = false;
    res.send(500, '', JSON_TYPE, INTERNAL_BODY);
  }
}

/** Resolves once the client has taken what was written, or has gone (cut by --send-timeout too). */
function writable(res: Http1Response): Promise<void> {
  return new Promise((resolve) => {
    res.onAbort = resolve;
    res.whenWritable(resolve);
  });
}

async function sendFile(context: NetContext, request: Request, status: number, list: string[], body: FileBody, res: Http1Response): Promise<void> {
  const offset = body.offset ?? 0;
  let length = body.length;
  if (length === undefined) {
    try {
      const info = await stat(body.path);
      if (!info.isFile()) throw Object.assign(new Error(`not a regular file: ${body.path}`), { code: 'ENOENT' });
      length = Math.max(0, info.size - offset);
    } catch (error) {
      const fallback = (error as NodeJS.ErrnoException).code === 'ENOENT' ? FILE_GONE : (context.report(error, request) ?? INTERNAL_ERROR);
      respond(context, request, fallback, res);
      return;
    }
  }
  if (res.finished) return;
  res.start(status, '', list, length);
  if (request.method === 'HEAD' || length === 0) return res.end();
  const stream = createReadStream(body.path, { start: offset, end: offset + length - 1, highWaterMark: FILE_CHUNK });
  let sent = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (res.finished) return;
      sent += chunk.length;
      if (!res.write(chunk, true)) await writable(res);
    }
    if (sent < length) throw new Error(`file ${body.path} ended after ${sent} of ${length} bytes`);
    res.end();
  } catch (error) {
    context.report(error, request);
    res.destroy();
  } finally {
    stream.destroy();
  }
}

async function sendStream(context: NetContext, request: Request, status: number, list: string[], body: AsyncIterable<Uint8Array | string>, declared: number, res: Http1Response): Promise<void> {
  const iterator = body[Symbol.asyncIterator]();
  let complete = false;
  let sent = 0;
  try {
    if (request.method === 'HEAD') {
      res.start(status, '', list, declared);
      res.end();
      return;
    }
    for (;;) {
      const next = await iterator.next();
      if (res.finished) return;
      if (next.done) {
        if (declared >= 0 && sent !== declared) throw new Error(`stream declared content-length ${declared} but produced ${sent} bytes`);
        if (!res.headersSent) res.start(status, '', list, declared);
        res.end();
        complete = true;
        return;
      }
      const value = next.value;
      if (typeof value !== 'string' && !(value instanceof Uint8Array)) throw new TypeError(`response body stream yielded ${typeof value}, not bytes or a string`);
      const chunk = typeof value === 'string' ? Buffer.from(value) : Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      if (chunk.length === 0) continue;
      sent += chunk.length;
      if (declared >= 0 && sent > declared) throw new Error(`stream produced more than its declared content-length ${declared}`);
      if (!res.headersSent) res.start(status, '', list, declared);
      // Not `stable`: the app may reuse its buffer once the iterator moves on.
      if (!res.write(chunk)) await writable(res);
    }
  } catch (error) {
    fail(context, request, res, error);
  } finally {
    if (!complete) await iterator.return?.()?.catch?.(() => {});
  }
}
