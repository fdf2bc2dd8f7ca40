/**
 * A strict parser for an upstream's response head (status line + header fields).
 *
 * Strict because the front must never guess at framing: a response whose length is ambiguous
 * could leave bytes on a pooled connection that the NEXT client would receive as its response
 * (response splitting / desync, RFC 9112 §11.1). So: only `HTTP/1.0` / `HTTP/1.1`, a three-digit
 * status, CRLF line ends only, no obs-fold, token header names, no control characters in values,
 * Content-Length digits only (repeats must agree), Transfer-Encoding exactly `chunked`, and never
 * both. Anything else is "invalid header" → 502 and the connection is closed (Nginx does the same).
 *
 * The parser also does the first half of the proxy's response-header hygiene in the same pass:
 * hop-by-hop fields, framing fields (Content-Length / Transfer-Encoding: the engine re-frames) and
 * Date (the engine stamps its own) are left out of `headers`.
 */
import { connectionTokens, HOP_BY_HOP } from '../../wire/hop-by-hop.ts';
import { fieldValueClassOf, isDecimal, TCHAR, VALUE_BAD, VALUE_OBS_TEXT } from '../../wire/syntax.ts';

/** Why an upstream's response head is refused (the client gets 502; the kind goes to the error log). */
export type ResponseFailureKind =
  /** Not `HTTP/1.x NNN reason`, or a control character in the reason. */
  | 'status-line'
  /** A version other than HTTP/1.0 or HTTP/1.1. */
  | 'version'
  /** Not three digits from 100 to 999. */
  | 'status-code'
  /** A field line continued on the next line. */
  | 'obs-fold'
  /** A bare CR or LF. */
  | 'line-ending'
  /** A field name that is not a token, or a line without a colon. */
  | 'field-name'
  /** A control character in a field value. */
  | 'field-value'
  /** Content-Length not digits, or two that differ. */
  | 'content-length'
  /** Transfer-Encoding other than exactly chunked, or repeated. */
  | 'transfer-encoding'
  /** Both Content-Length and Transfer-Encoding. */
  | 'ambiguous-framing';

/** A refused response head: its kind and what was wrong. */
export interface ResponseFailure {
  readonly failed: true;
  readonly kind: ResponseFailureKind;
  readonly reason: string;
}

function responseFailure(kind: ResponseFailureKind, reason: string): ResponseFailure {
  return { failed: true, kind, reason };
}

/** A parsed response head. */
export interface ResponseHead {
  status: number;
  reason: string;
  /** End-to-end header fields to pass on, flat name, value list, names as the upstream spelled them. */
  headers: string[];
  /** Declared body length, or -1 when absent. */
  contentLength: number;
  chunked: boolean;
  /** May the connection carry another request after this response? */
  keepAlive: boolean;
  /** Some header value holds bytes ≥ 0x80 (obs-text), kept as latin1 characters. */
  obsText: boolean;
}

/**
 * Header names the parser drops besides hop-by-hop ones: the front writes its own framing and
 * Date, and, like Nginx hiding an upstream's Server header, it does not pass on the product
 * header a uWebSockets.js app server adds to every response (a uWS front adds its own).
 */
const REFRAMED: ReadonlySet<string> = new Set(['content-length', 'date', 'uwebsockets']);
/**
 * The names the parser drops without reading them (hop-by-hop, reframed), by length: a field
 * whose name has no entry here and is not one of the three it reads (Content-Length,
 * Transfer-Encoding, Connection) is kept without being lower-cased; one that has is compared
 * with the few names of its length rather than hashed into a Set (every field of every
 * response).
 */
const DROPPED_BY_LENGTH: (string[] | undefined)[] = [];
for (const name of [...HOP_BY_HOP, ...REFRAMED]) (DROPPED_BY_LENGTH[name.length] ??= []).push(name);
/** Whether a name of each length (up to 31) may be one the parser acts on. */
const SPECIAL_LENGTH = new Uint8Array(32);
for (const name of ['content-length', 'transfer-encoding', 'connection', ...HOP_BY_HOP, ...REFRAMED]) {
  if (name.length >= SPECIAL_LENGTH.length) throw new Error(`response-head: ${name} is longer than the name-length table`);
  SPECIAL_LENGTH[name.length] = 1;
}

/** Is `lower` (a lower-cased field name) one the front drops? */
function dropped(lower: string): boolean {
  const names = DROPPED_BY_LENGTH[lower.length];
  if (names === undefined) return false;
  for (let k = 0; k < names.length; k++) if (names[k] === lower) return true;
  return false;
}

/**
 * Parse `text[0, end)`: a response head decoded as latin1 (one character per byte), `end` the
 * index of its blank line's CRLFCRLF. Returns the head or why it is refused (for the error
 * log; the client just gets 502). It walks the head by index and allocates only the names
 * and values it keeps: this runs once per proxied request. `bytes`: the same bytes
 * (bytes[i] is text.charCodeAt(i) up to end + 4), the buffer the caller decoded: the character
 * checks read them there, cheaper than a fresh string's charCodeAt.
 */
export function parseResponseHead(text: string, end: number, bytes: Uint8Array = Buffer.from(text, 'latin1')): ResponseHead | ResponseFailure {
  let lineEnd = text.indexOf('\r\n');
  if (lineEnd === -1 || lineEnd > end) lineEnd = end;
  // "HTTP/1.1 200 OK" — the reason phrase (and its space) may be absent.
  if (lineEnd < 12 || !text.startsWith('HTTP/1.') || bytes[8]! !== 32) return responseFailure('status-line', 'malformed status line');
  const minor = bytes[7]!;
  if (minor !== 48 && minor !== 49) return responseFailure('version', 'unsupported HTTP version');
  const d0 = bytes[9]! - 48;
  const d1 = bytes[10]! - 48;
  const d2 = bytes[11]! - 48;
  if (d0 < 1 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return responseFailure('status-code', 'malformed status code');
  if (lineEnd > 12 && bytes[12]! !== 32) return responseFailure('status-line', 'malformed status line');
  let reason = lineEnd > 13 ? text.slice(13, lineEnd) : '';
  const reasonCheck = fieldValueClassOf(bytes, 13, lineEnd);
  if (reasonCheck === VALUE_BAD) return responseFailure('status-line', 'control character in reason phrase');
  if (reasonCheck === VALUE_OBS_TEXT) reason = ''; // engines then send the standard phrase

  const headers: string[] = [];
  let contentLength = -1;
  let transferEncoding: string | null = null;
  let connection: string[] | null = null;
  let obsText = false;
  let start = lineEnd + 2;
  while (start < end) {
    const lineStart = start;
    let next = text.indexOf('\r\n', start);
    if (next === -1 || next > end) next = end;
    start = next + 2;
    const first = bytes[lineStart]!;
    if (first === 32 || first === 9) return responseFailure('obs-fold', 'obsolete line folding');
    // The name: tchars up to the colon (a CR or LF before the line's CRLF is a bare one).
    let colon = lineStart;
    while (colon < next && TCHAR[bytes[colon]!] === 1) colon++;
    if (colon === next || bytes[colon]! !== 58) {
      const c = bytes[colon]!;
      if (colon < next && (c === 13 || c === 10)) return responseFailure('line-ending', 'bare CR or LF in header');
      const at = text.indexOf(':', lineStart);
      if (at === -1 || at >= next) return responseFailure('field-name', 'header line without a colon');
      return responseFailure('field-name', `invalid header name ${JSON.stringify(text.slice(lineStart, at))}`);
    }
    if (colon === lineStart) return responseFailure('field-name', 'header line without a colon');
    const nameLength = colon - lineStart;
    // The value, without optional whitespace around it.
    let from = colon + 1;
    let to = next;
    while (from < to && (bytes[from]! === 32 || bytes[from]! === 9)) from++;
    while (to > from && (bytes[to - 1]! === 32 || bytes[to - 1]! === 9)) to--;
    const check = fieldValueClassOf(bytes, from, to);
    if (check === VALUE_BAD) {
      for (let i = from; i < to; i++) if (bytes[i]! === 13 || bytes[i]! === 10) return responseFailure('line-ending', 'bare CR or LF in header');
      return responseFailure('field-value', `control character in header ${text.slice(lineStart, colon)}`);
    }
    if (check === VALUE_OBS_TEXT) obsText = true;
    const name = text.slice(lineStart, colon);
    const value = text.slice(from, to);
    // Only names as long as one the proxy acts on need lower-casing (Content-Type, 12, does not).
    if (nameLength > 31 || SPECIAL_LENGTH[nameLength] === 0) {
      headers.push(name, value);
      continue;
    }
    const lower = name.toLowerCase();
    if (lower === 'content-length') {
      if (!isDecimal(value)) return responseFailure('content-length', `invalid Content-Length ${JSON.stringify(value)}`);
      const length = Number(value);
      if (contentLength !== -1 && contentLength !== length) return responseFailure('content-length', 'conflicting Content-Length headers');
      contentLength = length;
      continue;
    }
    if (lower === 'transfer-encoding') {
      if (transferEncoding !== null) return responseFailure('transfer-encoding', 'repeated Transfer-Encoding header');
      transferEncoding = value.toLowerCase();
      continue;
    }
    if (lower === 'connection') {
      connection = connection === null ? connectionTokens(value) : connection.concat(connectionTokens(value));
      continue;
    }
    if (dropped(lower)) continue;
    headers.push(name, value);
  }

  const status = d0 * 100 + d1 * 10 + d2;
  if (transferEncoding !== null) {
    if (transferEncoding !== 'chunked') return responseFailure('transfer-encoding', `unsupported Transfer-Encoding ${JSON.stringify(transferEncoding)}`);
    if (contentLength !== -1) return responseFailure('ambiguous-framing', 'both Content-Length and Transfer-Encoding');
  }
  let keepAlive = minor === 49;
  if (connection !== null) {
    if (connection.includes('close')) keepAlive = false;
    else if (connection.includes('keep-alive')) keepAlive = true;
    // Names listed in Connection are hop-by-hop too (rare: a second pass only then).
    for (const token of connection) {
      if (token === 'close' || token === 'keep-alive') continue;
      for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i]!.toLowerCase() === token) headers.splice(i, 2);
    }
  }
  return { status, reason, headers, contentLength, chunked: transferEncoding !== null, keepAlive, obsText };
}
