/**
 * The part of sending a response that does not depend on the engine: flattening the app's
 * headers into a name/value list, sizing fixed bodies, and the raw error replies a server sends
 * when a request never reached the app.
 */
import { STATUS_CODES } from 'node:http';
import type { ResponseBody } from '../../app/interface.ts';

/** Statuses that never carry a body (RFC 9110 §6.4.1). */
export function bodyless(status: number): boolean {
  return status === 204 || status === 304 || status < 200;
}

/** Byte length of a body the server can size without reading it, or -1 for streams and files. */
export function fixedLength(body: ResponseBody): number {
  if (body === null || body === undefined) return 0;
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.byteLength;
  return -1;
}

/** A complete HTTP/1.1 error reply for a request the app never saw; the connection then closes. */
export function rawErrorReply(status: number, detail: string): string {
  const body = JSON.stringify({ detail });
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `Connection: close\r\n\r\n${body}`
  );
}

/** `Server-Timing` value for the app's share of a request. */
export function appTiming(ms: number): string {
  return `app;dur=${ms.toFixed(2)}`;
}

/** The answer to a request node:http's parser (llhttp) refused before a request object existed. */
export interface ParserRefusal {
  status: 400 | 408 | 431;
  detail: string;
}

/**
 * Classify a node:http 'clientError': 431 for an oversized head, 408 for a head that did not
 * arrive in time, 400 for anything malformed; null when the client is already gone (nothing to
 * answer). Shared by the app server's engine and the front's node:http listener.
 */
export function parserRefusal(error: NodeJS.ErrnoException, writable: boolean, maxHeaderSize: number): ParserRefusal | null {
  const code = error.code ?? '';
  if (code === 'ECONNRESET' || code === 'EPIPE' || !writable) return null;
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, detail: `Request header fields too large (limit ${maxHeaderSize} bytes).` };
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'HPE_HEADERS_TIMEOUT') {
    return { status: 408, detail: 'Request timeout: the request head did not arrive in time.' };
  }
  return { status: 400, detail: `Bad request: ${error.message.replace(/^Parse Error: /, '')}.` };
}
