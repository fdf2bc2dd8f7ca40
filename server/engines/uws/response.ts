/**
 * Writing a response head and a whole body on a uWS HttpResponse. These run on the hot path,
 * inside the uWS callback where the socket is already corked, so a small answer leaves in one
 * write: no per-response closures, the app's header names checked once per distinct name.
 *
 * What uWS does by itself (and we therefore do not): Date (cached per second), Content-Length for
 * end(body), chunked framing for write(), keep-alive, `100 Continue`.
 */
import type { HttpResponse } from 'uWebSockets.js';
import type { Request, ResponseBody } from '../../../app/interface.ts';
import { statusLine } from '../../../wire/status-line.ts';
import { bodyless } from '../outgoing.ts';
export { appLength, flattenChecked } from '../response-headers.ts';

export { statusLine };

export function writeHead(res: HttpResponse, status: number, list: string[], timing: string | null): void {
  if (status !== 200) res.writeStatus(statusLine(status));
  for (let i = 0; i < list.length; i += 2) res.writeHeader(list[i]!, list[i + 1]!);
  if (timing !== null) res.writeHeader('server-timing', timing);
}

/**
 * End a response that has no body. Only the argument-less endWithoutBody() works in this uWS
 * build (a length argument, even undefined, writes a bogus Content-Length), so closing is asked
 * of the client with a header instead of by uWS.
 */
export function endBodyless(res: HttpResponse, close: boolean): void {
  if (close) res.writeHeader('connection', 'close');
  res.endWithoutBody();
}

export const JSON_TYPE = ['content-type', 'application/json'];
export const BAD_HEADERS_BODY = '{"detail":"Internal server error: the app sent headers that cannot be sent."}';

/**
 * Write a whole response (sized body) and end. Returns the body bytes sent when `count` (the
 * access log wants them), else 0.
 */
export function writeWhole(res: HttpResponse, request: Request, status: number, list: string[], body: string | Uint8Array | null, timing: string | null, close: boolean, count: boolean): number {
  writeHead(res, status, list, timing);
  if (bodyless(status)) {
    endBodyless(res, close);
    return 0;
  }
  if (request.method === 'HEAD') {
    // endWithoutBody(length) is broken in this uWS build: the header is written by hand.
    res.writeHeader('content-length', String(body === null ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength));
    endBodyless(res, close);
    return 0;
  }
  if (body === null) {
    res.end(undefined, close);
    return 0;
  }
  res.end(body, close);
  return !count ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
}

/** Let an async-iterable body the server will not read release what it holds. */
export function closeIterable(body: ResponseBody): void {
  if (body !== null && typeof body === 'object' && Symbol.asyncIterator in body) {
    const iterator = (body as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    void iterator.return?.()?.catch?.(() => {});
  }
}
