/**
 * One request head, then its body, read from the front of a connection's unread bytes: the steps
 * the wire/http1 connection and the node:http gate share, so both accept and refuse exactly the
 * same requests.
 * What each does with the outcome (close, refuse, go on to the body) stays with the caller.
 */
import type { ChunkedDecoder } from './chunked-decoder.ts';
import { requestFailure, type RequestFailure } from './failure.ts';
import type { HeadScan } from './head-scan.ts';
import { parseRequestHead, type HeadLimits, type RequestHead } from './request-head.ts';

/** What the front of the buffer holds. */
export type HeadRead =
  /** Only empty lines so far (RFC 9112 §2.2 lets a server skip them before a request line). */
  | { readonly kind: 'blank' }
  /** An unfinished head: wait for more bytes. */
  | { readonly kind: 'more' }
  /** A head to refuse with this failure; `start` is where it begins, after empty lines. */
  | { readonly kind: 'refused'; readonly failure: RequestFailure; readonly start: number }
  /** A whole head, parsed; the body (if any) starts at `consumed`. */
  | { readonly kind: 'head'; readonly head: RequestHead; readonly consumed: number };

const BLANK: HeadRead = { kind: 'blank' };
const MORE: HeadRead = { kind: 'more' };

/** Where the request starts in `buffer`, after empty lines (RFC 9112 §2.2). */
export function emptyLinesBefore(buffer: Buffer): number {
  let start = 0;
  while (buffer[start] === 13 && buffer[start + 1] === 10) start += 2;
  return start;
}

/**
 * Read one head from `buffer`. `scan` remembers how far it has looked (head-scan.ts), so only
 * the bytes that arrived since the last call are searched: a head sent a byte at a time costs
 * the same per byte as one sent whole. `peerEnded`: the client has ended its side, so an
 * unfinished head will stay unfinished.
 */
export function readRequestHead(buffer: Buffer, scan: HeadScan, limits: HeadLimits & { maxHeaderSize: number }, peerEnded: boolean): HeadRead {
  const start = emptyLinesBefore(buffer);
  const found = scan.scan(buffer, start, limits);
  if (found === null || 'failure' in found) {
    if (start === buffer.length) return BLANK;
    if (found !== null) return { kind: 'refused', failure: found.failure, start };
    if (peerEnded) return { kind: 'refused', failure: requestFailure('incomplete', 'Bad request: the connection ended in the middle of the request head.'), start };
    return MORE;
  }
  const end = found.end;
  if (end - start > limits.maxHeaderSize) {
    return { kind: 'refused', failure: requestFailure('head-too-large', `Request header fields too large: the request head is larger than ${limits.maxHeaderSize} bytes.`), start };
  }
  const parsed = parseRequestHead(buffer.toString('latin1', 0, end + 4), start, end, limits, buffer);
  if ('failed' in parsed) return { kind: 'refused', failure: parsed, start };
  return { kind: 'head', head: parsed, consumed: end + 4 };
}

/** What a piece of a request body did: more is needed, the body is whole (`rest` is what follows it), or it was refused. */
export type BodyRead =
  | { readonly kind: 'more' }
  | { readonly kind: 'done'; readonly rest: Buffer | null }
  | { readonly kind: 'refused'; readonly failure: RequestFailure };

/**
 * Give `push` the body bytes at the front of `buffer`: `contentLength - received` more of them,
 * or what `decoder` decodes of a chunked body (it refuses malformed framing: chunked-decoder.ts).
 */
export function readBodyPiece(buffer: Buffer, contentLength: number, received: number, decoder: ChunkedDecoder | null, push: (part: Buffer) => void): BodyRead {
  if (decoder === null) {
    const need = contentLength - received;
    if (buffer.length < need) {
      push(buffer);
      return MORE_BODY;
    }
    push(buffer.subarray(0, need));
    return { kind: 'done', rest: need === buffer.length ? null : buffer.subarray(need) };
  }
  const ended = decoder.feed(buffer, 0, push);
  if (typeof ended !== 'number') return { kind: 'refused', failure: ended };
  if (ended === -1) return MORE_BODY;
  return { kind: 'done', rest: ended === buffer.length ? null : buffer.subarray(ended) };
}

const MORE_BODY: BodyRead = { kind: 'more' };
