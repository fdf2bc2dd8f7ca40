/**
 * The response corpus (test/corpus/responses/) against the front's strict response-head parser:
 * every valid head parses to exactly the expected status, reason, kept fields and framing; every
 * invalid one is refused for the expected kind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseResponseHead } from '../proxy/upstream/response-head.ts';
import { loadResponseCorpus } from './corpus/corpus.ts';

const CASES = loadResponseCorpus();

describe('response corpus against parseResponseHead', () => {
  it('has valid and invalid cases', () => {
    assert.ok(CASES.filter((c) => c.valid).length >= 10 && CASES.filter((c) => !c.valid).length >= 20);
  });

  for (const c of CASES) {
    it(`${c.valid ? 'valid' : 'invalid'}/${c.name}: ${c.about}`, () => {
      const text = c.bytes.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      assert.ok(end > 0, 'the file holds a whole head');
      const parsed = parseResponseHead(text, end);
      if (!c.valid) {
        assert.ok('failed' in parsed, 'refused');
        assert.equal(parsed.kind, c.kind);
        return;
      }
      assert.ok(!('failed' in parsed), 'failed' in parsed ? `${parsed.kind}: ${parsed.reason}` : '');
      const headers: [string, string][] = [];
      for (let i = 0; i < parsed.headers.length; i += 2) headers.push([parsed.headers[i]!, parsed.headers[i + 1]!]);
      assert.deepEqual(
        { status: parsed.status, reason: parsed.reason, headers, contentLength: parsed.contentLength, chunked: parsed.chunked, keepAlive: parsed.keepAlive, obsText: parsed.obsText },
        { status: c.status, reason: c.reason, headers: c.headers, contentLength: c.contentLength, chunked: c.chunked, keepAlive: c.keepAlive, obsText: c.obsText },
      );
    });
  }
});
