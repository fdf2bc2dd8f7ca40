/**
 * Requests a server refuses before any app or upstream sees them, in the one vocabulary of
 * refusals (http1/failure.ts: a kind, its status, a reason for the client). The project's own
 * HTTP/1.1 parser produces those failures itself (also for the node:http engines, through the gate
 * in http1/node-http-gate.ts); this file builds the same failures for what node:http still reports
 * on its own (time-outs, resets) and for the limits every engine checks, so the same fault gets the
 * same status and sentence from every layer.
 */
import { type RequestFailure, requestFailure } from './http1/failure.ts';

export type { RequestFailure as Refusal } from './http1/failure.ts';

/** 408: the head did not arrive within the header timeout. */
export const HEAD_TIMEOUT: RequestFailure = Object.freeze(requestFailure('header-timeout', 'Request timeout: the request head did not arrive in time.'));

/** 408: a body with no data for `ms` milliseconds. */
export function bodyTimeout(ms: number): RequestFailure {
  return requestFailure('body-timeout', `Request timeout: no body data for ${ms} ms.`);
}

/** 413: a body of `length` bytes over `limit` (declared), or growing past it (`length` -1). */
export function bodyTooLarge(limit: number, length = -1): RequestFailure {
  return requestFailure(
    'body-too-large',
    length >= 0 ? `Payload too large: the body is ${length} bytes, the limit is ${limit}.` : `Payload too large: the body exceeds the limit of ${limit} bytes.`,
  );
}

/** 414: a request target longer than `limit` bytes. */
export function targetTooLong(limit: number): RequestFailure {
  return requestFailure('target-too-long', `Request-URI too long (limit ${limit} bytes).`);
}

/** 431: a head larger than `limit` bytes. */
export function headTooLarge(limit: number): RequestFailure {
  return requestFailure('head-too-large', `Request header fields too large (limit ${limit} bytes).`);
}

/** llhttp's error codes, by the kind of fault they report (the rest are 'request-line'). */
const LLHTTP_KINDS: Readonly<Record<string, Parameters<typeof requestFailure>[0]>> = {
  HPE_INVALID_METHOD: 'method',
  HPE_INVALID_URL: 'target',
  HPE_INVALID_VERSION: 'version',
  HPE_INVALID_HEADER_TOKEN: 'field-name',
  HPE_LF_EXPECTED: 'line-ending',
  HPE_CR_EXPECTED: 'line-ending',
  HPE_INVALID_CONTENT_LENGTH: 'content-length',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'ambiguous-framing',
  HPE_INVALID_TRANSFER_ENCODING: 'transfer-encoding',
  HPE_INVALID_CHUNK_SIZE: 'chunk',
  HPE_STRICT: 'request-line',
};

/**
 * Classify a node:http 'clientError' (llhttp's refusal, before a request object exists): 431 for
 * an oversized head, 408 for a head that did not arrive in time, 400 for anything malformed;
 * null when the client is already gone (nothing to answer).
 */
export function parserRefusal(error: NodeJS.ErrnoException, writable: boolean, maxHeaderSize: number): RequestFailure | null {
  const code = error.code ?? '';
  if (code === 'ECONNRESET' || code === 'EPIPE' || !writable) return null;
  if (code === 'HPE_HEADER_OVERFLOW') return headTooLarge(maxHeaderSize);
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'HPE_HEADERS_TIMEOUT') return HEAD_TIMEOUT;
  return requestFailure(LLHTTP_KINDS[code] ?? 'request-line', `Bad request: ${error.message.replace(/^Parse Error: /, '')}.`);
}
