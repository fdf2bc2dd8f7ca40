/**
 * Refusing requests whose body framing is ambiguous, before anything is forwarded.
 *
 * Request smuggling lives in disagreements: the front reads one body length, the app server
 * another, and the difference becomes a second, hidden request on the shared keep-alive
 * connection (RFC 9112 §6.3, §11.2). The front re-frames every forwarded body with a
 * fresh Content-Length, which already removes most of the risk; on top of that, like Nginx ≥ 1.21
 * and Gunicorn ≥ 22, anything ambiguous is refused outright with 400 and the connection closed:
 *   - Content-Length together with Transfer-Encoding;
 *   - more than one Content-Length field, or one that is not plain digits;
 *   - Transfer-Encoding other than exactly `chunked` (`gzip, chunked`, `xchunked`, `chunked, identity`),
 *     or repeated, or on an HTTP/1.0 request;
 *   - more than one Host field.
 * The node:http engine uses this on top of llhttp (which refuses much of it already); the net
 * engine's parser (wire/http1/request-head.ts) applies the same rules while it parses.
 */

import { requestFailure } from '../../wire/http1/failure.ts';
import { isDecimal, trimOws } from '../../wire/syntax.ts';
import type { RequestFailure } from '../../wire/http1/failure.ts';

/** How the request body is framed: a length (-1: none) or chunked. */
export interface Framing {
  contentLength: number;
  chunked: boolean;
}

const NO_BODY: Framing = Object.freeze({ contentLength: -1, chunked: false });
const CHUNKED: Framing = Object.freeze({ contentLength: -1, chunked: true });

/** Check the framing headers in a flat name, value list; `http10` for HTTP/1.0 requests. */
export function checkFraming(headers: readonly string[], http10: boolean): Framing | RequestFailure {
  let contentLength: string | null = null;
  let transferEncoding: string | null = null;
  let hosts = 0;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    // Only three names matter; compare lengths first so the common header costs one branch.
    const n = name.length;
    if (n !== 14 && n !== 17 && n !== 4) continue;
    const lower = name.toLowerCase();
    if (lower === 'content-length') {
      if (contentLength !== null) return requestFailure('content-length', 'Bad request: more than one Content-Length header.');
      contentLength = trimOws(headers[i + 1]!);
    } else if (lower === 'transfer-encoding') {
      if (transferEncoding !== null) return requestFailure('transfer-encoding', 'Bad request: more than one Transfer-Encoding header.');
      transferEncoding = trimOws(headers[i + 1]!).toLowerCase();
    } else if (lower === 'host') {
      if (++hosts > 1) return requestFailure('host', 'Bad request: more than one Host header.');
    }
  }
  if (transferEncoding !== null) {
    if (contentLength !== null) return requestFailure('ambiguous-framing', 'Bad request: both Content-Length and Transfer-Encoding.');
    if (http10) return requestFailure('transfer-encoding', 'Bad request: Transfer-Encoding on an HTTP/1.0 request.');
    if (transferEncoding !== 'chunked') return requestFailure('transfer-encoding', `Bad request: Transfer-Encoding ${JSON.stringify(transferEncoding)} is not accepted (only "chunked").`);
    return CHUNKED;
  }
  if (contentLength !== null) {
    if (!isDecimal(contentLength)) return requestFailure('content-length', `Bad request: invalid Content-Length ${JSON.stringify(contentLength)}.`);
    return { contentLength: Number(contentLength), chunked: false };
  }
  return NO_BODY;
}
