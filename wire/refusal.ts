/**
 * Requests a server refuses before any app or upstream sees them, by kind, with the status
 * (RFC 9110 §15.5) and a sentence for the client and the error log. The app server's engines and
 * the front's engines classify through here, so the same fault gets the same answer from every
 * layer and engine.
 */

/** Why a request was refused on the wire. */
export type RefusalKind =
  /** Malformed head or framing (bad syntax, ambiguous length): 400. */
  | 'malformed'
  /** The head did not arrive within the header timeout: 408. */
  | 'head-timeout'
  /** The body stalled longer than the body timeout between two reads: 408. */
  | 'body-timeout'
  /** The body is, or grew, larger than the body limit: 413. */
  | 'body-too-large'
  /** The request target is longer than the request-line limit: 414. */
  | 'target-too-long'
  /** The head is larger than the header limit, or has too many fields: 431. */
  | 'head-too-large';

/** A refusal: what went wrong, the status that says so, and the client-facing sentence. */
export interface Refusal {
  readonly kind: RefusalKind;
  readonly status: 400 | 408 | 413 | 414 | 431;
  readonly detail: string;
}

/** 400: `reason` says what was malformed (a sentence without its final period). */
export function malformed(reason: string): Refusal {
  return { kind: 'malformed', status: 400, detail: `Bad request: ${reason}.` };
}

/** 408 for a head that did not arrive in time. */
export const HEAD_TIMEOUT: Refusal = Object.freeze({ kind: 'head-timeout', status: 408, detail: 'Request timeout: the request head did not arrive in time.' });

/** 408 for a body with no data for `ms` milliseconds. */
export function bodyTimeout(ms: number): Refusal {
  return { kind: 'body-timeout', status: 408, detail: `Request timeout: no body data for ${ms} ms.` };
}

/** 413 for a body of `length` bytes over `limit` (declared), or growing past it (`length` -1). */
export function bodyTooLarge(limit: number, length = -1): Refusal {
  const detail = length >= 0 ? `Payload too large: the body is ${length} bytes, the limit is ${limit}.` : `Payload too large: the body exceeds the limit of ${limit} bytes.`;
  return { kind: 'body-too-large', status: 413, detail };
}

/** 414 for a request target longer than `limit` bytes. */
export function targetTooLong(limit: number): Refusal {
  return { kind: 'target-too-long', status: 414, detail: `Request-URI too long (limit ${limit} bytes).` };
}

/** 431 for a head larger than `limit` bytes (or with more fields than allowed). */
export function headTooLarge(limit: number): Refusal {
  return { kind: 'head-too-large', status: 431, detail: `Request header fields too large (limit ${limit} bytes).` };
}

/**
 * Classify a node:http 'clientError' (llhttp's refusal, before a request object exists): 431 for
 * an oversized head, 408 for a head that did not arrive in time, 400 for anything malformed;
 * null when the client is already gone (nothing to answer).
 */
export function parserRefusal(error: NodeJS.ErrnoException, writable: boolean, maxHeaderSize: number): Refusal | null {
  const code = error.code ?? '';
  if (code === 'ECONNRESET' || code === 'EPIPE' || !writable) return null;
  if (code === 'HPE_HEADER_OVERFLOW') return headTooLarge(maxHeaderSize);
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'HPE_HEADERS_TIMEOUT') return HEAD_TIMEOUT;
  return malformed(error.message.replace(/^Parse Error: /, ''));
}
