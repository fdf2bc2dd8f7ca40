/**
 * Building the request head the front sends upstream.
 *
 * The front never forwards the client's bytes: it re-serializes the request from what the
 * client-side parser understood, so an ambiguity in the client's framing cannot travel on to the
 * app server (request smuggling, RFC 9112 §11.2). In one pass over the client's header fields it drops:
 *   - hop-by-hop fields and every name listed in Connection — BEFORE adding its own headers, so a
 *     client cannot make the front delete them with `Connection: X-Forwarded-For` (Go issue 50580);
 *   - Content-Length / Expect (the body is already buffered and is re-framed with a fresh length);
 *   - names containing `_` (`X_Forwarded_For` becomes HTTP_X_FORWARDED_FOR in CGI-style servers,
 *     aliasing the real header; Nginx drops them too: underscores_in_headers off);
 *   - the client's X-Forwarded-Proto/-Host, X-Request-Id and Forwarded unless the client is trusted.
 * Then it adds X-Forwarded-For (appended), X-Forwarded-Proto, X-Forwarded-Host, X-Request-Id and
 * Content-Length. The request target is passed on as received (like Nginx's proxy_pass without
 * a URI part), after the front has checked it.
 */
import { listedInConnection } from '../../wire/hop-by-hop.ts';
import { newRequestId } from './request-id.ts';
import type { TrustedClients } from './trust.ts';

/** What the front knows about the client's request, as the client-side engine parsed it. */
export interface ClientRequestHead {
  method: string;
  /** The request target as received: path and query, still percent-encoded. */
  target: string;
  /** Header fields as a flat name, value list (any case). */
  headers: readonly string[];
  /** The client's IP address. */
  clientAddress: string;
  /**
   * The host the request is for, when the engine decided it: an absolute-form target's authority
   * replaces the Host field (RFC 9112 §3.2.2). Absent: the first Host field.
   */
  host?: string;
}

/** Settings for the forwarding headers. */
export interface ForwardingOptions {
  trusted: TrustedClients;
  /** The scheme the client used to reach the front (`http`; `https` behind a TLS terminator is told by X-Forwarded-Proto). */
  scheme: string;
  /** Host header to send when the client sent none (HTTP/1.0). */
  fallbackHost: string;
}

const DROP = 1;
const CONNECTION = 2;
const HOST = 3;
const XFF = 4;
const XFP = 5;
const XFH = 6;
const XRID = 7;
const FORWARDED = 8;

const SPECIAL: readonly (readonly [string, number])[] = [
  ['connection', CONNECTION],
  ['proxy-connection', DROP],
  ['keep-alive', DROP],
  ['proxy-authenticate', DROP],
  ['proxy-authorization', DROP],
  ['te', DROP],
  ['trailer', DROP],
  ['transfer-encoding', DROP],
  ['upgrade', DROP],
  ['content-length', DROP],
  ['expect', DROP],
  ['host', HOST],
  ['x-forwarded-for', XFF],
  ['x-forwarded-proto', XFP],
  ['x-forwarded-host', XFH],
  ['x-request-id', XRID],
  ['forwarded', FORWARDED],
];

/**
 * The special names by length (at most two share one): a name of any other length is passed on
 * without being lower-cased or looked up, and one of a special length is compared with the
 * few names of that length instead of hashed into a Map (every field of every request).
 */
const SPECIAL_BY_LENGTH: ((readonly [string, number])[] | undefined)[] = [];
for (const entry of SPECIAL) (SPECIAL_BY_LENGTH[entry[0].length] ??= []).push(entry);

/** The special kind of `lower` (a lower-cased field name) among `candidates` (its length's), or 0. */
function specialKind(candidates: readonly (readonly [string, number])[], lower: string): number {
  for (let k = 0; k < candidates.length; k++) if (candidates[k]![0] === lower) return candidates[k]![1];
  return 0;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request id the front uses for a request: the trusted client's own, or a new UUID (request-id.ts). */
export function requestIdFor(headers: readonly string[], clientAddress: string, options: ForwardingOptions): string {
  if (!options.trusted.empty && options.trusted.has(clientAddress)) {
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i]!.length === 12 && headers[i]!.toLowerCase() === 'x-request-id' && REQUEST_ID.test(headers[i + 1]!)) return headers[i + 1]!;
    }
  }
  return newRequestId();
}

/**
 * Serialize the upstream request head for `head` with a body of `bodyLength` bytes (-1: none and
 * none expected, e.g. GET). `requestId` comes from `requestIdFor`.
 */
export function buildRequestHead(head: ClientRequestHead, bodyLength: number, requestId: string, options: ForwardingOptions): string {
  const headers = head.headers;
  const listed = listedInConnection(headers);
  let out = head.method + ' ' + head.target + ' HTTP/1.1\r\n';
  let host = head.host ?? '';
  const hostDecided = host !== '';
  let priorFor = '';
  let priorProto = '';
  let priorHost = '';
  let trusted: boolean | null = null;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const candidates = name.length < SPECIAL_BY_LENGTH.length ? SPECIAL_BY_LENGTH[name.length] : undefined;
    const lower = candidates !== undefined || listed !== null ? name.toLowerCase() : name;
    const kind = candidates !== undefined ? specialKind(candidates, lower) : 0;
    if (kind !== 0) {
      // A forwarding header the client declared hop-by-hop is dropped like any other listed name.
      if (listed !== null && kind !== HOST && listed.has(lower)) continue;
      switch (kind) {
        case HOST:
          if (!hostDecided && host === '') host = headers[i + 1]!;
          break;
        case XFF:
          priorFor = priorFor === '' ? headers[i + 1]! : priorFor + ', ' + headers[i + 1]!;
          break;
        case XFP:
          if (priorProto === '') priorProto = headers[i + 1]!;
          break;
        case XFH:
          if (priorHost === '') priorHost = headers[i + 1]!;
          break;
        case FORWARDED:
          trusted ??= options.trusted.has(head.clientAddress);
          if (trusted) out += name + ': ' + headers[i + 1]! + '\r\n';
          break;
        default: // DROP, CONNECTION, XRID (re-added below)
      }
      continue;
    }
    if (name.indexOf('_') !== -1) continue;
    if (listed !== null && listed.has(lower)) continue;
    out += name + ': ' + headers[i + 1]! + '\r\n';
  }
  if (priorProto !== '' || priorHost !== '') trusted ??= options.trusted.has(head.clientAddress);
  if (host === '') host = options.fallbackHost;
  out += 'Host: ' + host + '\r\n';
  out += 'X-Forwarded-For: ' + (priorFor === '' ? head.clientAddress : priorFor + ', ' + head.clientAddress) + '\r\n';
  out += 'X-Forwarded-Proto: ' + (trusted && priorProto !== '' ? priorProto : options.scheme) + '\r\n';
  out += 'X-Forwarded-Host: ' + (trusted && priorHost !== '' ? priorHost : host) + '\r\n';
  out += 'X-Request-Id: ' + requestId + '\r\n';
  if (bodyLength >= 0) out += 'Content-Length: ' + bodyLength + '\r\n';
  return out + '\r\n';
}
