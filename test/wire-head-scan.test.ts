/**
 * The incremental head scan (wire/http1/head-scan.ts) against the whole-prefix check it replaced
 * (unfinishedHeadFailure plus a search of the decoded prefix): every corpus request, and a few
 * built to reach each limit, fed a byte at a time, must end (or be refused, with the same kind)
 * at the same byte, with the same head end.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeadScan, type HeadScanResult } from '../wire/http1/head-scan.ts';
import { unfinishedHeadFailure, type HeadLimits } from '../wire/http1/request-head.ts';
import { loadRequestCorpus } from './corpus/corpus.ts';

type Limits = HeadLimits & { maxHeaderSize: number };

/** The check as the connection did it before, on the whole prefix at once. */
function wholePrefix(buffer: Buffer, limits: Limits): HeadScanResult {
  const scan = Math.min(buffer.length, 4096);
  let text = buffer.toString('latin1', 0, scan);
  let start = 0;
  while (text.charCodeAt(start) === 13 && text.charCodeAt(start + 1) === 10) start += 2;
  let end = text.indexOf('\r\n\r\n', start);
  if (end === -1 && buffer.length > scan) {
    text = buffer.toString('latin1', 0, Math.min(buffer.length, limits.maxHeaderSize + start + 4));
    end = text.indexOf('\r\n\r\n', start);
  }
  if (end !== -1) return { end };
  if (start === buffer.length) return null;
  const failure = unfinishedHeadFailure(text, start, buffer.length - start, limits);
  return failure === null ? null : { failure };
}

function startOf(buffer: Buffer): number {
  let start = 0;
  while (buffer[start] === 13 && buffer[start + 1] === 10) start += 2;
  return start;
}

const brief = (r: HeadScanResult): string => (r === null ? 'wait' : 'end' in r ? `end ${r.end}` : `${r.failure.status} ${r.failure.kind}`);

/** Feed `bytes` a byte at a time (then in 7-byte steps) to both; they must agree at every step until the first answer. */
function agree(name: string, bytes: Buffer, limits: Limits): void {
  for (const step of [1, 7]) {
    const scan = new HeadScan();
    let previous: Buffer | null = null;
    for (let n = step; ; n = Math.min(bytes.length, n + step)) {
      // A fresh buffer for each prefix, as the connection's gathering buffer grows.
      const buffer = Buffer.from(bytes.subarray(0, n));
      if (previous !== null) scan.carry(previous, buffer);
      previous = buffer;
      const expected = wholePrefix(buffer, limits);
      const got = scan.scan(buffer, startOf(buffer), limits);
      assert.equal(brief(got), brief(expected), `${name}, ${n} bytes in steps of ${step}`);
      if (expected !== null || n === bytes.length) break;
      if (startOf(buffer) === buffer.length) {
        // Only empty lines: the connection drops them and starts over.
        scan.reset();
        bytes = bytes.subarray(n);
        previous = null;
        n = 0;
        if (bytes.length === 0) break;
      }
    }
  }
}

const DEFAULTS: Limits = { maxHeaderSize: 16 * 1024, maxRequestLine: 8190, maxHeaderFields: 100 };
const SMALL: Limits = { maxHeaderSize: 120, maxRequestLine: 40, maxHeaderFields: 100 };

describe('the incremental head scan', () => {
  const corpus = loadRequestCorpus('front');
  it('agrees with the whole-prefix check on every corpus request, a byte at a time', () => {
    assert.ok(corpus.length > 100);
    for (const c of corpus) agree(c.name, c.bytes, DEFAULTS);
  });

  it('agrees with it where the limits trip (small limits, the corpus again)', () => {
    for (const c of corpus) agree(`${c.name} (small limits)`, c.bytes, SMALL);
  });

  it('agrees on heads built to reach each limit and each early refusal', () => {
    const cases: Record<string, string> = {
      'long request line': `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      'head too large': `GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'b'.repeat(17000)}\r\n\r\n`,
      'end past the window': `GET / HTTP/1.1\r\nHost: x\r\n${'X-Pad: c\r\n'.repeat(1700)}\r\n`,
      'bare LF in a field': 'GET / HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n',
      'bad method, head never ends': 'G(T / HTTP/1.1\r\nHost: x\r\nX-A: ',
      'leading empty lines': '\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n',
      'LF right after empty lines': '\r\n\nGET / HTTP/1.1\r\n\r\n',
    };
    for (const [name, text] of Object.entries(cases)) agree(name, Buffer.from(text, 'latin1'), DEFAULTS);
  });
});
