/**
 * Writing a response head and a whole body on a uWS HttpResponse. These run on the hot path,
 * inside the uWS callback where the socket is already corked, so a small answer leaves in one
 * write: no per-response closures, the app's header names checked once per distinct name.
 *
 * What uWS does by itself (and we therefore do not): Date (cached per second), Content-Length for
 * end(body), chunked framing for write(), keep-alive, `100 Continue`.
 */
import type { HttpResponse } from 'uWebSockets.js';
import type { Request, ResponseBody, ResponseHeaders } from '../../../app/interface.ts';
import { bodyless, statusLine } from '../../../wire/status-line.ts';
import { hasInvalidValueChar, isToken } from '../../../wire/syntax.ts';

/** Header names already checked, so the regex runs once per distinct name, not per response. */
const checkedNames = new Set<string>();

/** Fields uWS writes itself or that belong to the connection; an app's copy is dropped. */
function serverOwned(name: string): boolean {
  const n = name.length;
  if (n !== 4 && n !== 10 && n !== 14 && n !== 17) return false;
  const lower = name.toLowerCase();
  return lower === 'date' || lower === 'connection' || lower === 'keep-alive' || lower === 'content-length' || lower === 'transfer-encoding';
}

/** The app's own content-length, as found by the last flattenChecked() call (-1: none). */
export let appLength = -1;
const NO_HEADERS: string[] = [];

/**
 * The app's headers checked and flattened into a fresh [name, value, …] list, or null when one
 * cannot be sent (node:http would throw on it; SPEC §4.2 makes it a 500). The shape of the
 * headers (strings, numbers, lists of strings) was checked by callApp already.
 */
export function flattenChecked(headers: ResponseHeaders | undefined): string[] | null {
  appLength = -1;
  if (headers === undefined) return NO_HEADERS;
  const flat: string[] = [];
  for (const name in headers) {
    if (!checkedNames.has(name)) {
      if (!isToken(name)) return null;
      if (checkedNames.size < 1024) checkedNames.add(name);
    }
    const value = headers[name]!;
    if (serverOwned(name)) {
      if (name.length === 14 && name.toLowerCase() === 'content-length') appLength = Number(value);
      continue;
    }
    if (typeof value === 'string') {
      if (hasInvalidValueChar(value)) return null;
      flat.push(name, value);
    } else if (typeof value === 'number') flat.push(name, String(value));
    else
      for (const v of value) {
        if (typeof v !== 'string' || hasInvalidValueChar(v)) return null;
        flat.push(name, v);
      }
  }
  return flat;
}

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
