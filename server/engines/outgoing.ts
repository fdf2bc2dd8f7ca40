/**
 * The part of sending a response that does not depend on the engine: flattening the app's
 * headers into a name/value list, sizing fixed bodies, and the raw error replies a server sends
 * when a request never reached the app.
 */
import type { ResponseBody } from '../../app/interface.ts';
import { closingReply } from '../../wire/plain-reply.ts';

/** Byte length of a body the server can size without reading it, or -1 for streams and files. */
export function fixedLength(body: ResponseBody): number {
  if (body === null || body === undefined) return 0;
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.byteLength;
  return -1;
}

/** A complete HTTP/1.1 error reply for a request the app never saw; the connection then closes. */
export function rawErrorReply(status: number, detail: string): string {
  return closingReply(status, 'application/json', JSON.stringify({ detail }));
}

/** `Server-Timing` value for the app's share of a request. */
export function appTiming(ms: number): string {
  return `app;dur=${ms.toFixed(2)}`;
}
