/**
 * A strict parser for an upstream's response head (status line + header fields).
 *
 * Strict because the front must never guess at framing: a response whose length is ambiguous
 * could leave bytes on a pooled connection that the NEXT client would receive as its response
 * (response splitting / desync, anchors §4.2). So: only `HTTP/1.0` / `HTTP/1.1`, a three-digit
 * status, CRLF line ends only, no obs-fold, token header names, no control characters in values,
 * Content-Length digits only (repeats must agree), Transfer-Encoding exactly `chunked`, and never
 * both. Anything else is "invalid header" → 502 and the connection is closed (Nginx does the same).
 *
 * The parser also does the first half of the proxy's response-header hygiene in the same pass:
 * hop-by-hop fields, framing fields (Content-Length / Transfer-Encoding: the engine re-frames) and
 * Date (the engine stamps its own) are left out of `headers`.
 */
import { connectionTokens, HOP_BY_HOP } from './hop-by-hop.ts';

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
/** Lengths of every name the parser acts on (framing, Connection, hop-by-hop, reframed). */
const SPECIAL_LENGTHS: ReadonlySet<number> = new Set(['transfer-encoding', 'connection', ...HOP_BY_HOP, ...REFRAMED].map((name) => name.length));

// RFC 9110 §5.6.2 tchar: ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1;

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || TOKEN[c] === 0) return false;
  }
  return true;
}

const VALUE_OK = 0;
const VALUE_OBS_TEXT = 1;
const VALUE_BAD = 2;

/** Field values may hold visible characters, obs-text (≥ 0x80), space and tab; no other controls. */
function checkFieldValue(s: string): number {
  let result = VALUE_OK;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 9) || c === 0x7f) return VALUE_BAD;
    if (c > 0x7f) result = VALUE_OBS_TEXT;
  }
  return result;
}

function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && (s.charCodeAt(start) === 32 || s.charCodeAt(start) === 9)) start++;
  while (end > start && (s.charCodeAt(end - 1) === 32 || s.charCodeAt(end - 1) === 9)) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

const DIGITS = /^\d{1,15}$/;

/**
 * Parse `buffer[0, end)`, where `end` is the index of the blank line's CRLFCRLF. Returns the head
 * or a string saying what was wrong (for the error log; the client just gets 502).
 */
export function parseResponseHead(buffer: Buffer, end: number): ResponseHead | string {
  const text = buffer.toString('latin1', 0, end);
  let lineEnd = text.indexOf('\r\n');
  if (lineEnd === -1) lineEnd = text.length;
  const statusLine = text.slice(0, lineEnd);
  // "HTTP/1.1 200 OK" — the reason phrase (and its space) may be absent.
  if (statusLine.length < 12 || !statusLine.startsWith('HTTP/1.') || statusLine.charCodeAt(8) !== 32) return 'malformed status line';
  const minor = statusLine.charCodeAt(7);
  if (minor !== 48 && minor !== 49) return 'unsupported HTTP version';
  const code = statusLine.slice(9, 12);
  if (!/^[1-9]\d\d$/.test(code)) return 'malformed status code';
  if (statusLine.length > 12 && statusLine.charCodeAt(12) !== 32) return 'malformed status line';
  let reason = statusLine.slice(13);
  const reasonCheck = checkFieldValue(reason);
  if (reasonCheck === VALUE_BAD) return 'control character in reason phrase';
  if (reasonCheck === VALUE_OBS_TEXT) reason = ''; // engines then send the standard phrase

  const headers: string[] = [];
  let contentLength = -1;
  let transferEncoding: string | null = null;
  let connection: string[] | null = null;
  let obsText = false;
  let start = lineEnd + 2;
  while (start < text.length) {
    let next = text.indexOf('\r\n', start);
    if (next === -1) next = text.length;
    const line = text.slice(start, next);
    start = next + 2;
    const first = line.charCodeAt(0);
    if (first === 32 || first === 9) return 'obsolete line folding';
    if (line.indexOf('\n') !== -1 || line.indexOf('\r') !== -1) return 'bare CR or LF in header';
    const colon = line.indexOf(':');
    if (colon <= 0) return 'header line without a colon';
    const name = line.slice(0, colon);
    if (!isToken(name)) return `invalid header name ${JSON.stringify(name)}`;
    const value = trimOws(line.slice(colon + 1));
    const check = checkFieldValue(value);
    if (check === VALUE_BAD) return `control character in header ${name}`;
    if (check === VALUE_OBS_TEXT) obsText = true;
    // Only names as long as one the proxy acts on need lower-casing (Content-Type, 12, does not).
    if (!SPECIAL_LENGTHS.has(colon)) {
      headers.push(name, value);
      continue;
    }
    const lower = name.toLowerCase();
    if (lower === 'content-length') {
      if (!DIGITS.test(value)) return `invalid Content-Length ${JSON.stringify(value)}`;
      const length = Number(value);
      if (contentLength !== -1 && contentLength !== length) return 'conflicting Content-Length headers';
      contentLength = length;
      continue;
    }
    if (lower === 'transfer-encoding') {
      if (transferEncoding !== null) return 'repeated Transfer-Encoding header';
      transferEncoding = value.toLowerCase();
      continue;
    }
    if (lower === 'connection') {
      connection = connection === null ? connectionTokens(value) : connection.concat(connectionTokens(value));
      continue;
    }
    if (HOP_BY_HOP.has(lower) || REFRAMED.has(lower)) continue;
    headers.push(name, value);
  }

  const status = Number(code);
  if (transferEncoding !== null) {
    if (transferEncoding !== 'chunked') return `unsupported Transfer-Encoding ${JSON.stringify(transferEncoding)}`;
    if (contentLength !== -1) return 'both Content-Length and Transfer-Encoding';
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
