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
 * The engines' own parsers (llhttp, uWS) refuse much of this already; this check covers the rest
 * and makes the rule explicit and identical for both engines.
 */
import { isDecimal, trimOws } from '../../wire/syntax.ts';

/** How the request body is framed, or why the request is refused. */
export type Framing = { ok: true; contentLength: number; chunked: boolean } | { ok: false; reason: string };

const NO_BODY: Framing = Object.freeze({ ok: true, contentLength: -1, chunked: false });

function refuse(reason: string): Framing {
  return { ok: false, reason: `Bad request: ${reason}.` };
}

/** Check the framing headers in a flat name, value list; `http10` for HTTP/1.0 requests. */
export function checkFraming(headers: readonly string[], http10: boolean): Framing {
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
      if (contentLength !== null) return refuse('more than one Content-Length header');
      contentLength = trimOws(headers[i + 1]!);
    } else if (lower === 'transfer-encoding') {
      if (transferEncoding !== null) return refuse('more than one Transfer-Encoding header');
      transferEncoding = trimOws(headers[i + 1]!).toLowerCase();
    } else if (lower === 'host') {
      if (++hosts > 1) return refuse('more than one Host header');
    }
  }
  if (transferEncoding !== null) {
    if (contentLength !== null) return refuse('both Content-Length and Transfer-Encoding');
    if (http10) return refuse('Transfer-Encoding on an HTTP/1.0 request');
    if (transferEncoding !== 'chunked') return refuse(`Transfer-Encoding ${JSON.stringify(transferEncoding)} is not accepted (only "chunked")`);
    return { ok: true, contentLength: -1, chunked: true };
  }
  if (contentLength !== null) {
    if (!isDecimal(contentLength)) return refuse(`invalid Content-Length ${JSON.stringify(contentLength)}`);
    return { ok: true, contentLength: Number(contentLength), chunked: false };
  }
  return NO_BODY;
}
