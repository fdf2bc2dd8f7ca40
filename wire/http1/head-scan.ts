/**
 * Looking for the end of a request head that arrives in pieces, without looking at a byte twice.
 *
 * Why: a client may send its head a byte at a time (slowloris, or just a slow link). Decoding and
 * searching the whole partial head on every read made each byte cost O(head) — a string of the
 * head, a search for its end, a search for every LF, and a parse of the request line, on each
 * of the ~300 reads of an ordinary head. Here each read searches only its own new bytes (native
 * Buffer.indexOf, no string), the request line is checked once when its LF arrives, and the head
 * is decoded once, when it is complete. The refusals and their order are those of
 * unfinishedHeadFailure (request-head.ts), which checks a whole partial head at once: each
 * condition it tests can only become true as bytes arrive, so testing only what is new finds the
 * same first failure at the same read.
 */
import { requestFailure } from './failure.ts';
import type { RequestFailure } from './failure.ts';
import { parseRequestHead, REQUEST_LINE_KINDS } from './request-head.ts';
import type { HeadLimits } from './request-head.ts';

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');
const LF = 10;
/** Bytes in which an end is always looked for, whatever the head size limit (as the connection did before). */
const HEAD_WINDOW = 4096;
const CR = 13;

/** What a scan found: the head's end (index of its final CRLF pair), a refusal, or neither yet. */
export type HeadScanResult = { end: number } | { failure: RequestFailure } | null;

/** The scan of one growing buffer: call scan() with the same buffer grown at its end, or reset(). */
export class HeadScan {
  /** The buffer the state below describes (a buffer that is not its grown self starts a new scan). */
  private of: Buffer | null = null;
  /** Bytes of `of` already searched. */
  private scanned = 0;
  /** Index of the request line's LF, -1 until it arrives. */
  private lineEnd = -1;
  private lineChecked = false;

  /** The buffer `grown` continues the one scanned so far (its first bytes are the same bytes). */
  carry(from: Buffer, grown: Buffer): void {
    if (this.of === from) this.of = grown;
  }

  reset(): void {
    this.of = null;
  }

  /**
   * Look at what is new in `buffer` (a head starting at `start`, after any leading empty lines):
   * `{ end }` once "\r\n\r\n" is there, `{ failure }` once the partial head can be refused, null
   * to wait for more bytes.
   */
  scan(buffer: Buffer, start: number, limits: HeadLimits & { maxHeaderSize: number }): HeadScanResult {
    if (this.of !== buffer) {
      this.of = buffer;
      this.scanned = 0;
      this.lineEnd = -1;
      this.lineChecked = false;
    }
    const from = Math.max(start, this.scanned);
    // Three bytes back: the end may straddle the previous read. An end past the window a whole
    // head may fill is refused below, as a head that never ended within the limits.
    const end = buffer.indexOf(HEAD_END, Math.max(start, from - 3));
    if (end !== -1 && end + 4 <= Math.max(HEAD_WINDOW, limits.maxHeaderSize + start + 4)) return { end };
    let bareLf = false;
    for (let lf = buffer.indexOf(LF, from); lf !== -1; lf = buffer.indexOf(LF, lf + 1)) {
      if (this.lineEnd === -1) this.lineEnd = lf;
      if (buffer[lf - 1] !== CR) bareLf = true;
    }
    this.scanned = buffer.length;
    const length = buffer.length - start;
    const lineEnd = this.lineEnd;
    if (lineEnd === -1 ? length > limits.maxRequestLine : lineEnd - start > limits.maxRequestLine + 1) {
      return { failure: requestFailure('target-too-long', `URI too long: the request line is longer than ${limits.maxRequestLine} bytes.`) };
    }
    if (length > limits.maxHeaderSize) {
      return { failure: requestFailure('head-too-large', `Request header fields too large: the request head is larger than ${limits.maxHeaderSize} bytes.`) };
    }
    if (bareLf) return { failure: requestFailure('line-ending', 'Bad request: a line of the request head ends with a bare LF.') };
    if (lineEnd !== -1 && !this.lineChecked) {
      // The request line is complete: refuse a bad one now rather than wait for fields that may never come.
      this.lineChecked = true;
      const line = parseRequestHead(buffer.toString('latin1', start, lineEnd + 1), 0, lineEnd - 1 - start, limits, buffer.subarray(start, lineEnd + 1));
      if ('failed' in line && REQUEST_LINE_KINDS.has(line.kind)) return { failure: line };
    }
    return null;
  }
}

/** What arrived of the request line (latin1, at most 2048 bytes), for a refusal's log entry. */
export function partialRequestLine(buffer: Buffer, start: number): string {
  const crlf = buffer.indexOf(CRLF, start);
  return buffer.toString('latin1', start, Math.min(crlf === -1 ? buffer.length : crlf, start + 2048));
}
