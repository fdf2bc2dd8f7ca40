/**
 * The access log's two spellings of a line agree byte for byte: the line encoded straight into
 * the writer's buffer (encodeAccessLine, the hot path) and formatAccessLine's string written as
 * UTF-8 (what every line was before, and still the path for a line that needs UTF-8). Escaping
 * is the point: whatever a client sends, the line must not change.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AccessLog, accessLineRoom, type AccessRecord, encodeAccessLine, formatAccessLine } from '../wire/access-log.ts';

const dir = mkdtempSync(join(tmpdir(), 'access-log-bytes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const at = Date.UTC(2026, 10, 29, 12, 0, 0);
const base: AccessRecord = { client: '127.0.0.1', method: 'GET', target: '/api/ping/', httpVersion: '1.1', status: 200, bytes: 11, referer: '', userAgent: 'curl/8.5', requestMs: 2 };

/** formatAccessLine's line and newline, as the writer encoded it before. */
function expected(r: AccessRecord, now: number): Buffer {
  return Buffer.from(formatAccessLine(r, now) + '\n', 'utf8');
}

/** What AccessLog.write does with the bytes: the encoded line, or null when it falls back to the string. */
function encoded(r: AccessRecord, now: number): Buffer | null {
  const out = Buffer.alloc(accessLineRoom(r) + 8, 0xee);
  const end = encodeAccessLine(r, now, out, 3);
  if (end < 0) return null;
  assert.ok(end < 3 + accessLineRoom(r), 'within the room it asked for');
  out[end] = 10;
  return out.subarray(3, end + 1);
}

/** A deterministic pseudo-random source (the cases must be the same on every run). */
function randomSource(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

const ALPHABET = ['a', 'Z', '/', ' ', '?', '=', '-', '"', '\\', '\n', '\r', '\t', '\x00', '\x1f', '\x7f', '\x80', '\xe9', '\xff', '\u20ac', '\ud83d\ude00', '%22', '~'];

describe('access log lines written as bytes', () => {
  it('are the formatted lines, for ordinary requests of both layers', () => {
    const cases: AccessRecord[] = [
      base,
      { ...base, referer: 'http://example.com/page?q=1', userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0' },
      { ...base, upstream: '127.0.0.1:8001', upstreamMs: 0.4, requestMs: 0.6, requestId: '0b6e7a52-3c1f-4d2e-9a8b-1c2d3e4f5a6b' },
      { ...base, upstream: '-', upstreamMs: -1, requestId: '' },
      { ...base, upstream: '127.0.0.1:8001, 127.0.0.1:8002', upstreamMs: 61000.4, requestMs: 1234.5678, requestId: 'trusted.id:42' },
      { ...base, method: 'OPTIONS', target: '*', httpVersion: '1.0', status: 499, bytes: 0, client: '::1' },
      { ...base, status: 431, bytes: 2 ** 31 + 5, requestMs: 999.6 },
      { ...base, bytes: 2 ** 53 + 2, requestMs: 0.0004 }, // past exact integers: the string path
      { ...base, requestMs: Number.NaN, upstream: '-', upstreamMs: Number.NaN },
      { ...base, requestMs: 2 ** 60 },
    ];
    for (const r of cases) {
      const bytes = encoded(r, at);
      if (bytes !== null) assert.equal(bytes.toString('latin1'), expected(r, at).toString('latin1'), JSON.stringify(r));
    }
    assert.notEqual(encoded(cases[1]!, at), null, 'a plain line is encoded, not left to the string');
    assert.notEqual(encoded(cases[2]!, at), null);
  });

  it('escape what the client sent exactly as the formatted line does, in short and long values', () => {
    const random = randomSource(13);
    const pick = (n: number): string => {
      let s = '';
      for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(random() * ALPHABET.length)]!;
      return s;
    };
    let asBytes = 0;
    for (let i = 0; i < 3000; i++) {
      const long = i % 3 === 0 ? 40 : 6;
      const r: AccessRecord = {
        ...base,
        target: '/' + pick(1 + Math.floor(random() * long)),
        referer: i % 4 === 0 ? '' : pick(Math.floor(random() * long)),
        userAgent: i % 5 === 0 ? 'x'.repeat(30) + pick(2) : pick(Math.floor(random() * long)),
        upstream: i % 2 === 0 ? undefined : i % 7 === 0 ? 'h\xe9:1' : '127.0.0.1:8001',
        upstreamMs: random() * 3000,
        requestMs: random() * 3000,
        requestId: i % 11 === 0 ? '' : 'id-' + i,
      };
      const bytes = encoded(r, at + i * 1000);
      const want = expected(r, at + i * 1000);
      if (bytes === null) {
        // Only a line that needs UTF-8 is left to the string path.
        // eslint-disable-next-line no-control-regex
        assert.ok(/[^\x00-\x7f]/.test(formatAccessLine(r, at + i * 1000)), JSON.stringify(r));
        continue;
      }
      asBytes++;
      assert.deepEqual(bytes, want, JSON.stringify(r));
    }
    assert.ok(asBytes > 500, `most lines go the byte path (${asBytes})`);
  });

  it('reach the file the same way through AccessLog, with lines that fall back to the string among them', async () => {
    const file = join(dir, 'access.log');
    const log = new AccessLog(file);
    const records: AccessRecord[] = [
      { ...base, upstream: '127.0.0.1:8001', upstreamMs: 1, requestMs: 2, requestId: 'a' },
      { ...base, userAgent: 'caf\u00e9 \u20ac \ud83d\ude00', target: '/\u20ac' }, // > 0xff: the string path (UTF-8)
      { ...base, upstream: 'h\u00e9:1', upstreamMs: 1, requestMs: 2, requestId: 'b' }, // not ASCII, unescaped: the string path
      { ...base, target: '/a"b\\c\x01\xff' },
      { ...base, userAgent: 'u'.repeat(70_000) }, // longer than a batch
    ];
    for (const r of records) log.write(r);
    await log.close();
    const lines = readFileSync(file, 'utf8').split('\n');
    assert.equal(lines.length, records.length + 1);
    assert.equal(lines.at(-1), '');
    // The wall clock's second is each line's own: compare with the stamp taken out.
    const unstamped = (line: string): string => line.replace(/\[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\]/, '[]');
    records.forEach((r, i) => assert.equal(unstamped(lines[i]!), unstamped(formatAccessLine(r, at)), `line ${i}`));
  });
});
