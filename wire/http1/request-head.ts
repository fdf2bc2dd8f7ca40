/**
 * A strict parser for HTTP/1.x request heads (RFC 9112 §2–§7, RFC 9110 §5), written for the hot
 * path: it walks a latin1 string (one character per byte, so offsets are byte offsets) by index
 * and allocates only the method, target and the field names and values it returns.
 *
 * Strict where leniency is how requests get smuggled: CRLF line ends only, no obs-fold, token
 * field names with no space before the colon, no control characters in values, one Host, one
 * Content-Length of plain digits, Transfer-Encoding whose last coding is chunked, never both
 * framings, no Transfer-Encoding on HTTP/1.0. Lenient where clients differ in harmless ways:
 * leading empty lines are skipped (RFC 9112 §2.2), bytes ≥ 0x80 are accepted in the target and in
 * values (obs-text), absolute-form targets are taken and turned into origin form with their
 * authority as Host (RFC 9112 §3.2.2).
 */
import { isDecimal, TCHAR } from '../syntax.ts';
import { requestFailure } from './failure.ts';
import type { RequestFailure, RequestFailureKind } from './failure.ts';

/** The size limits a head is checked against. */
export interface HeadLimits {
  /** Longest request line in bytes; longer gets 414. */
  maxRequestLine: number;
  /** Most header fields; more gets 431. */
  maxHeaderFields: number;
}

/** A parsed request head, with its body framing decided. */
export interface RequestHead {
  /** As sent (methods are case-sensitive: `get` is not `GET`). */
  method: string;
  /** Origin form (`/path?query`), `*` for OPTIONS; an absolute-form target is reduced to its path and query. */
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  /** Header fields as a flat name, value list, names as sent, values without surrounding whitespace. */
  headers: string[];
  /** The Host field's value, or the authority of an absolute-form target; '' when absent (HTTP/1.0). */
  host: string;
  /** Declared body length; -1 when there is none (and the body is not chunked). */
  contentLength: number;
  chunked: boolean;
  /** May the connection carry another request after this one's response? */
  keepAlive: boolean;
  /** `Expect: 100-continue` was sent (HTTP/1.1 only). */
  expectContinue: boolean;
}

/** A field's first value from a flat name, value list (RequestHead.headers), the name compared case-insensitively; '' when absent. */
export function headerValue(headers: readonly string[], lowerCaseName: string): string {
  const n = lowerCaseName.length;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === n && name.toLowerCase() === lowerCaseName) return headers[i + 1]!;
  }
  return '';
}

/** Characters of a request-target: visible ASCII and obs-text; no space, no control. */
const TARGET = new Uint8Array(256);
for (let c = 0x21; c <= 0xff; c++) if (c !== 0x7f) TARGET[c] = 1;

/** Characters of a Host value: reg-name, IP literal and port (RFC 3986 §3.2.2). */
const HOST = new Uint8Array(256);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:[]%") HOST[c.charCodeAt(0)] = 1;


/** Names the parser acts on, by length: most names skip the lower-casing. */
const HOST_LENGTH = 4;
const CL_LENGTH = 14;
const TE_LENGTH = 17;
const CONNECTION_LENGTH = 10;
const EXPECT_LENGTH = 6;

/** True if `text[from, to)` is a valid Host value (may be empty only for HTTP/1.0 callers to decide). */
function validHost(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (HOST[text.charCodeAt(i)] !== 1) return false;
  return true;
}

/** validHost over `bytes[from, to)`. */
function validHostBytes(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (HOST[bytes[i]!] !== 1) return false;
  return true;
}

/**
 * Is the field name at `bytes[from…]` (a token, as long as `lower`) `lower`, letters compared
 * without case? Setting bit 0x20 lower-cases a letter; `lower` holds only letters and `-`, which
 * no other token character turns into (CR would, and a name has none).
 */
function nameIs(bytes: Uint8Array, from: number, lower: string): boolean {
  for (let k = 0; k < lower.length; k++) if ((bytes[from + k]! | 0x20) !== lower.charCodeAt(k)) return false;
  return true;
}

/**
 * `GET`, `HEAD` or `POST` when `bytes[from, to)` spells it: the same string every time, so no
 * string is cut per request and comparing it with the literal is a pointer test.
 */
function commonMethod(bytes: Uint8Array, from: number, to: number): string | null {
  const n = to - from;
  if (n === 3 && bytes[from]! === 71 && bytes[from + 1]! === 69 && bytes[from + 2]! === 84) return 'GET';
  if (n === 4 && bytes[from + 1]! === 69 && bytes[from + 2]! === 65 && bytes[from + 3]! === 68 && bytes[from]! === 72) return 'HEAD';
  if (n === 4 && bytes[from]! === 80 && bytes[from + 1]! === 79 && bytes[from + 2]! === 83 && bytes[from + 3]! === 84) return 'POST';
  return null;
}

/** Does a comma-separated list (a Connection value) contain `token` (lower case)? */
function listHas(value: string, token: string): boolean {
  const lower = value.toLowerCase();
  let at = lower.indexOf(token);
  while (at !== -1) {
    const before = at === 0 ? 44 : lower.charCodeAt(at - 1);
    const afterIndex = at + token.length;
    const after = afterIndex >= lower.length ? 44 : lower.charCodeAt(afterIndex);
    if ((before === 44 || before === 32 || before === 9) && (after === 44 || after === 32 || after === 9)) return true;
    at = lower.indexOf(token, at + 1);
  }
  return false;
}

/**
 * Parse `text[start, end)`: a request head decoded as latin1, `end` the index of its final CRLF
 * pair (text[end..end+4) is "\r\n\r\n"). Returns the head or why it is refused. `bytes`: the
 * same bytes (bytes[i] is text.charCodeAt(i) up to end + 4), which the caller has as the buffer
 * it decoded: the character checks read them there, since a typed array's element costs about
 * two thirds of a fresh string's charCodeAt; the strings kept are sliced from `text`.
 */
export function parseRequestHead(text: string, start: number, end: number, limits: HeadLimits, bytes: Uint8Array = Buffer.from(text, 'latin1')): RequestHead | RequestFailure {
  // Leading empty lines before the request line are skipped (RFC 9112 §2.2).
  while (start + 1 < end && bytes[start]! === 13 && bytes[start + 1]! === 10) start += 2;
  let lineEnd = text.indexOf('\r\n', start);
  if (lineEnd === -1 || lineEnd > end) lineEnd = end;
  if (lineEnd - start > limits.maxRequestLine) {
    return requestFailure('target-too-long', `URI too long: the request line is longer than ${limits.maxRequestLine} bytes.`);
  }

  // Request line: method SP request-target SP HTTP-version.
  let i = start;
  while (i < lineEnd && TCHAR[bytes[i]!] === 1) i++;
  if (i === start || i === lineEnd || bytes[i]! !== 32) {
    const c = bytes[i]!;
    if (i < lineEnd && (c === 13 || c === 10)) return requestFailure('line-ending', 'Bad request: bare CR or LF in the request line.');
    return requestFailure('method', 'Bad request: the method is not a token followed by one space.');
  }
  const method = commonMethod(bytes, start, i) ?? text.slice(start, i);
  const targetStart = ++i;
  while (i < lineEnd && TARGET[bytes[i]!] === 1) i++;
  if (i === targetStart || i === lineEnd || bytes[i]! !== 32) {
    const c = bytes[i]!;
    if (i < lineEnd && (c === 13 || c === 10)) return requestFailure('line-ending', 'Bad request: bare CR or LF in the request line.');
    return requestFailure(i === targetStart || i === lineEnd ? 'request-line' : 'target', 'Bad request: the request line is not "METHOD target HTTP/1.1".');
  }
  const rawTarget = text.slice(targetStart, i);
  const versionStart = i + 1;
  // `HTTP/` read byte by byte: a startsWith call cost more than the five comparisons.
  if (lineEnd - versionStart !== 8 || bytes[versionStart]! !== 72 || bytes[versionStart + 1]! !== 84 || bytes[versionStart + 2]! !== 84 || bytes[versionStart + 3]! !== 80 || bytes[versionStart + 4]! !== 47 || bytes[versionStart + 6]! !== 46) {
    const rest = text.slice(versionStart, lineEnd);
    if (/^HTTP\/\d\.\d$/.test(rest)) return requestFailure('version-unsupported', `HTTP version not supported: ${rest.slice(0, 16)}; this server speaks HTTP/1.0 and HTTP/1.1.`);
    return requestFailure(/[\r\n]/.test(rest) ? 'line-ending' : 'version', 'Bad request: malformed HTTP version.');
  }
  const major = bytes[versionStart + 5]! - 48;
  const minorDigit = bytes[versionStart + 7]! - 48;
  if (major < 0 || major > 9 || minorDigit < 0 || minorDigit > 9) return requestFailure('version', 'Bad request: malformed HTTP version.');
  if (major !== 1 || minorDigit > 1) {
    return requestFailure('version-unsupported', `HTTP version not supported: HTTP/${major}.${minorDigit}; this server speaks HTTP/1.0 and HTTP/1.1.`);
  }
  const minor = minorDigit;

  // The request-target's form (RFC 9112 §3.2).
  let target = rawTarget;
  let authority: string | null = null;
  const first = rawTarget.charCodeAt(0);
  if (first !== 47 /* / */) {
    if (rawTarget === '*') {
      if (method !== 'OPTIONS') return requestFailure('target', 'Bad request: the asterisk target is only for OPTIONS.');
    } else if (method === 'CONNECT') {
      return requestFailure('method-not-allowed', 'Method not allowed: this server does not open tunnels (CONNECT).');
    } else {
      const scheme = /^https?:\/\//i.exec(rawTarget);
      if (scheme === null) return requestFailure('target', 'Bad request: the request target must start with "/" or be an absolute http(s) URI.');
      const from = scheme[0].length;
      let to = from;
      while (to < rawTarget.length && rawTarget.charCodeAt(to) !== 47 && rawTarget.charCodeAt(to) !== 63 && rawTarget.charCodeAt(to) !== 35) to++;
      authority = rawTarget.slice(from, to);
      const at = authority.lastIndexOf('@');
      if (at !== -1) authority = authority.slice(at + 1); // userinfo is never forwarded
      if (authority === '' || !validHost(authority)) return requestFailure('target', 'Bad request: invalid authority in the absolute request target.');
      target = to === rawTarget.length ? '/' : rawTarget.charCodeAt(to) === 63 ? '/' + rawTarget.slice(to) : rawTarget.slice(to);
    }
  }

  // Header fields.
  const headers: string[] = [];
  let host: string | null = null;
  /** Where the Host value sits in `bytes`: it is checked there (a loop of charCodeAt over the sliced value cost several ns a character). */
  let hostFrom = 0;
  let hostTo = 0;
  let contentLength: string | null = null;
  let transferEncoding: string | null = null;
  let connection: string | null = null;
  let expect: string | null = null;
  let start2 = lineEnd + 2;
  while (start2 < end) {
    const lineStart = start2;
    const c0 = bytes[lineStart]!;
    if (c0 === 32 || c0 === 9) return requestFailure('obs-fold', 'Bad request: obsolete line folding in a header field.');
    // One pass over the line's bytes finds its end too: the name runs to the first non-tchar
    // (the line's CR at the latest), the value to the first control character other than HTAB
    // (its CR, when the line is well formed). Only a malformed line looks for its CRLF again.
    let colon = lineStart;
    while (TCHAR[bytes[colon]!] === 1) colon++;
    if (bytes[colon]! !== 58 || colon === lineStart) {
      let next = text.indexOf('\r\n', lineStart);
      if (next === -1 || next > end) next = end;
      const c = bytes[colon]!;
      if (colon < next && (c === 13 || c === 10)) return requestFailure('line-ending', 'Bad request: bare CR or LF in a header field.');
      let after = colon;
      while (after < next && (bytes[after]! === 32 || bytes[after]! === 9)) after++;
      return requestFailure('field-name', after > colon && after < next && bytes[after]! === 58
        ? 'Bad request: whitespace between a header field name and its colon.'
        : 'Bad request: invalid header field name, or a header line without a colon.');
    }
    if (headers.length >= limits.maxHeaderFields * 2) {
      return requestFailure('too-many-fields', `Request header fields too large: more than ${limits.maxHeaderFields} header fields.`);
    }
    let from = colon + 1;
    while (bytes[from]! === 32 || bytes[from]! === 9) from++;
    let next = from;
    let c = bytes[next]!;
    while (c >= 0x20 ? c !== 0x7f : c === 9) c = bytes[++next]!;
    if (c !== 13 || bytes[next + 1]! !== 10) {
      // The first such character is not the line's CRLF: the value holds it.
      return c === 13 || c === 10
        ? requestFailure('line-ending', 'Bad request: bare CR or LF in a header field.')
        : requestFailure('field-value', 'Bad request: control character in a header field value.');
    }
    start2 = next + 2;
    let to = next;
    while (to > from && (bytes[to - 1]! === 32 || bytes[to - 1]! === 9)) to--;
    const name = text.slice(lineStart, colon);
    const value = text.slice(from, to);
    headers.push(name, value);
    const n = colon - lineStart;
    if (n !== HOST_LENGTH && n !== CL_LENGTH && n !== TE_LENGTH && n !== CONNECTION_LENGTH && n !== EXPECT_LENGTH) continue;
    // Compared in `bytes`, not lower-cased: Host is on every request, and a lower-cased copy of
    // it was a string made and thrown away per request.
    if (n === HOST_LENGTH && nameIs(bytes, lineStart, 'host')) {
      if (host !== null) return requestFailure('host', 'Bad request: more than one Host header.');
      host = value;
      hostFrom = from;
      hostTo = to;
    } else if (n === CL_LENGTH && nameIs(bytes, lineStart, 'content-length')) {
      if (contentLength !== null) return requestFailure('content-length', 'Bad request: more than one Content-Length header.');
      contentLength = value;
    } else if (n === TE_LENGTH && nameIs(bytes, lineStart, 'transfer-encoding')) {
      transferEncoding = transferEncoding === null ? value : transferEncoding + ',' + value;
    } else if (n === CONNECTION_LENGTH && nameIs(bytes, lineStart, 'connection')) {
      connection = connection === null ? value : connection + ',' + value;
    } else if (n === EXPECT_LENGTH && nameIs(bytes, lineStart, 'expect')) {
      expect = value;
    }
  }

  // Host (RFC 9112 §3.2): required in HTTP/1.1, replaced by an absolute target's authority.
  if (host !== null && !validHostBytes(bytes, hostFrom, hostTo)) return requestFailure('host', 'Bad request: invalid Host header.');
  if (host === null && authority === null && minor === 1) return requestFailure('host', 'Bad request: HTTP/1.1 requests need a Host header.');
  if (host === '' && minor === 1 && authority === null) return requestFailure('host', 'Bad request: empty Host header.');

  // Body framing (RFC 9112 §6).
  let length = -1;
  let chunked = false;
  if (transferEncoding !== null) {
    if (contentLength !== null) return requestFailure('ambiguous-framing', 'Bad request: both Content-Length and Transfer-Encoding.');
    if (minor === 0) return requestFailure('transfer-encoding', 'Bad request: Transfer-Encoding on an HTTP/1.0 request.');
    const codings = transferEncoding.split(',');
    const last = codings[codings.length - 1]!.trim().toLowerCase();
    if (last !== 'chunked') return requestFailure('transfer-encoding', 'Bad request: the last transfer coding must be chunked.');
    for (let k = 0; k < codings.length - 1; k++) {
      const coding = codings[k]!.trim().toLowerCase();
      if (coding === 'chunked') return requestFailure('transfer-encoding', 'Bad request: chunked applied more than once.');
      return requestFailure('transfer-coding-unsupported', `Not implemented: transfer coding ${JSON.stringify(coding.slice(0, 32))}; only chunked is accepted.`);
    }
    chunked = true;
  } else if (contentLength !== null) {
    if (!isDecimal(contentLength)) return requestFailure('content-length', 'Bad request: Content-Length must be one number of plain digits.');
    length = Number(contentLength);
  }

  let keepAlive = minor === 1;
  if (connection !== null) {
    if (listHas(connection, 'close')) keepAlive = false;
    else if (minor === 0 && listHas(connection, 'keep-alive')) keepAlive = true;
  }
  let expectContinue = false;
  if (expect !== null) {
    if (expect.toLowerCase() !== '100-continue') return requestFailure('expectation', `Expectation failed: only "100-continue" is supported.`);
    expectContinue = minor === 1;
  }
  return { method, target, minor, headers, host: authority ?? host ?? '', contentLength: length, chunked, keepAlive, expectContinue };
}

/** Failures a request line alone can show. */
export const REQUEST_LINE_KINDS: ReadonlySet<RequestFailureKind> = new Set(['request-line', 'method', 'target', 'version', 'version-unsupported', 'target-too-long', 'line-ending', 'method-not-allowed']);

/**
 * Why a head whose end has not arrived yet (`text[start, start + length)`, latin1) can already
 * be refused — a request line or head past its limit, a bare LF, a bad request line — or null
 * to wait for more bytes.
 */
export function unfinishedHeadFailure(text: string, start: number, length: number, limits: HeadLimits & { maxHeaderSize: number }): RequestFailure | null {
  const lineEnd = text.indexOf('\n', start);
  if (lineEnd === -1 ? length > limits.maxRequestLine : lineEnd - start > limits.maxRequestLine + 1) {
    return requestFailure('target-too-long', `URI too long: the request line is longer than ${limits.maxRequestLine} bytes.`);
  }
  if (length > limits.maxHeaderSize) {
    return requestFailure('head-too-large', `Request header fields too large: the request head is larger than ${limits.maxHeaderSize} bytes.`);
  }
  for (let lf = lineEnd; lf !== -1; lf = text.indexOf('\n', lf + 1)) {
    if (text.charCodeAt(lf - 1) !== 13) return requestFailure('line-ending', 'Bad request: a line of the request head ends with a bare LF.');
  }
  if (lineEnd !== -1) {
    // The request line is complete: refuse a bad one now rather than wait for fields that may never come.
    const line = parseRequestHead(text, start, lineEnd - 1, limits);
    if ('failed' in line && REQUEST_LINE_KINDS.has(line.kind)) return line;
  }
  return null;
}
