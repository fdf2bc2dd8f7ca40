/**
 * The front's pure pieces, without sockets (the response-head parser runs the response corpus,
 * test/corpus-responses.test.ts): the chunked decoder, request-head building, Range / Accept-Encoding / validators, MIME types,
 * trusted-client lists, balancing and passive health.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseCoding } from '../proxy/static/encoding.ts';
import { parseRange } from '../proxy/static/range.ts';
import { etagFor, ifRangeHolds, matchHits, modifiedSince, noneMatchHits, notModifiedSince } from '../proxy/static/validators.ts';
import { Balancer } from '../proxy/upstream/balancer.ts';
import { ChunkedDecoder } from '../wire/http1/chunked-decoder.ts';
import { buildRequestHead } from '../proxy/upstream/request-head.ts';
import { TrustedClients } from '../proxy/upstream/trust.ts';
import { parseAddress } from '../options/grammar.ts';
import { Upstream } from '../proxy/upstream/upstream.ts';

describe('ChunkedDecoder', () => {
  const decode = (text: string, pieces = 1) => {
    const decoder = new ChunkedDecoder();
    const bytes = Buffer.from(text, 'latin1');
    const out: Buffer[] = [];
    const size = Math.ceil(bytes.length / pieces);
    for (let at = 0; at < bytes.length; at += size) {
      const piece = bytes.subarray(at, at + size);
      const result = decoder.feed(piece, 0, (c) => out.push(Buffer.from(c)));
      if (typeof result !== 'number') return result.kind;
      if (result !== -1) return { body: Buffer.concat(out).toString(), rest: piece.length - result + (bytes.length - at - piece.length) };
    }
    return 'incomplete';
  };

  it('decodes sizes, extensions and trailers, in one piece or byte by byte', () => {
    const text = '5\r\nhello\r\nA;ext=1\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nNEXT';
    assert.deepEqual(decode(text), { body: 'hello0123456789', rest: 4 });
    assert.deepEqual(decode(text, text.length), { body: 'hello0123456789', rest: 4 });
    assert.deepEqual(decode('0\r\n\r\n'), { body: '', rest: 0 });
  });

  it('refuses malformed framing', () => {
    for (const text of ['+5\r\nhello\r\n0\r\n\r\n', '-5\r\n', 'g\r\n', '5\nhello\r\n0\r\n\r\n', '5\r\nhelloXX0\r\n\r\n', '1234567890abc\r\n', '5 \r\nhello\r\n0\r\n\r\n', '0\r\n\r\r']) {
      assert.equal(decode(text), 'chunk', JSON.stringify(text));
    }
    assert.equal(decode('5\r\nhel'), 'incomplete');
  });
});

describe('buildRequestHead', () => {
  const trusted = new TrustedClients(['10.0.0.1']);
  const options = { trusted, scheme: 'http', fallbackHost: '127.0.0.1:8000' };
  it('re-serializes with forwarding headers, without hop-by-hop or underscored fields', () => {
    const text = buildRequestHead(
      { method: 'POST', target: '/a?b=1', clientAddress: '192.0.2.5', headers: ['Host', 'app', 'Connection', 'X-Gone', 'X-Gone', '1', 'TE', 'trailers', 'Content-Length', '99', 'Expect', '100-continue', 'X_Alias', '1', 'Accept', '*/*', 'X-Forwarded-For', '198.51.100.1'] },
      3,
      'rid-1',
      options,
    );
    assert.equal(text, 'POST /a?b=1 HTTP/1.1\r\nAccept: */*\r\nHost: app\r\nX-Forwarded-For: 198.51.100.1, 192.0.2.5\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: app\r\nX-Request-Id: rid-1\r\nContent-Length: 3\r\n\r\n');
  });

  it('uses the fallback Host for HTTP/1.0 clients and trusts only listed peers', () => {
    const untrusted = buildRequestHead({ method: 'GET', target: '/', clientAddress: '192.0.2.5', headers: ['X-Forwarded-Proto', 'https'] }, -1, 'r', options);
    assert.match(untrusted, /\r\nHost: 127\.0\.0\.1:8000\r\n/);
    assert.match(untrusted, /X-Forwarded-Proto: http\r\n/);
    const fromProxy = buildRequestHead({ method: 'GET', target: '/', clientAddress: '::ffff:10.0.0.1', headers: ['Host', 'h', 'X-Forwarded-Proto', 'https'] }, -1, 'r', options);
    assert.match(fromProxy, /X-Forwarded-Proto: https\r\n/);
  });
});

describe('static helpers', () => {
  it('parses single ranges', () => {
    assert.deepEqual(parseRange('bytes=0-9', 100), { kind: 'range', start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=-200', 100), { kind: 'range', start: 0, end: 99 });
    assert.deepEqual(parseRange('bytes=90-', 100), { kind: 'range', start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=100-', 100), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=-0', 100), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=0-0,5-6', 100), { kind: 'ignore' });
    assert.deepEqual(parseRange('lines=0-1', 100), { kind: 'ignore' });
  });

  it('chooses codings by q-value', () => {
    assert.equal(chooseCoding('gzip, br', true, true), 'br');
    assert.equal(chooseCoding('gzip;q=1, br;q=0.5', true, true), 'gzip');
    assert.equal(chooseCoding('br;q=0', true, true), null);
    assert.equal(chooseCoding('*;q=0.1', false, true), 'gzip');
    assert.equal(chooseCoding('x-gzip', false, true), 'gzip');
    assert.equal(chooseCoding('', true, true), null);
    assert.equal(chooseCoding('br', false, true), null);
  });

  it('compares validators', () => {
    const etag = etagFor(1_700_000_000_123, 512);
    assert.equal(etag, '"18bcfe5687b-200"');
    assert.equal(etagFor(1_700_000_000_123, 512, 'br'), '"18bcfe5687b-200-br"');
    assert.ok(noneMatchHits(`"a", W/${etag}`, etag));
    assert.ok(!noneMatchHits('"a", "b"', etag));
    assert.ok(notModifiedSince('Tue, 14 Nov 2023 22:13:20 GMT', 1_700_000_000_123));
    assert.ok(!notModifiedSince('Tue, 14 Nov 2023 22:13:19 GMT', 1_700_000_000_123));
    assert.ok(ifRangeHolds(etag, etag, ''));
    assert.ok(!ifRangeHolds(`W/${etag}`, etag, ''));
  });

  it('evaluates If-Match strongly and If-Unmodified-Since by whole seconds', () => {
    const etag = etagFor(1_700_000_000_123, 512);
    for (const header of [etag, '*', ' * ', ` ${etag} `, `"a", ${etag}`, `"a",${etag},"b"`]) assert.ok(matchHits(header, etag), header);
    for (const header of ['', '"a"', `W/${etag}`, `"a", W/${etag}`, `${etag}x`, `"${etag}"`, '"a" *']) assert.ok(!matchHits(header, etag), header);
    assert.ok(!matchHits('W/"x"', 'W/"x"'), 'a weak tag never matches strongly');
    assert.ok(matchHits('*', 'W/"x"'));
    assert.ok(!modifiedSince('Tue, 14 Nov 2023 22:13:20 GMT', 1_700_000_000_123), 'same second as Last-Modified');
    assert.ok(!modifiedSince('Tue, 14 Nov 2023 22:13:21 GMT', 1_700_000_000_123));
    assert.ok(modifiedSince('Tue, 14 Nov 2023 22:13:19 GMT', 1_700_000_000_123));
    assert.ok(!modifiedSince('not a date', 1_700_000_000_123), 'unparseable dates are ignored');
  });
});

describe('upstreams', () => {
  it('takes a failing server out after max-fails and puts it back after fail-timeout', () => {
    const health = { maxFails: 2, failTimeoutMs: 1000 };
    const a = new Upstream(parseAddress('127.0.0.1:1'), health);
    const b = new Upstream(parseAddress('127.0.0.1:2'), health);
    const balancer = new Balancer([a, b], 'round-robin');
    assert.equal(balancer.pick(0, null), a);
    assert.equal(balancer.pick(0, null), b);
    assert.equal(a.recordFailure(0), false);
    assert.equal(a.recordFailure(10), true);
    assert.deepEqual([balancer.pick(20, null), balancer.pick(20, null)], [b, b]);
    assert.equal(balancer.pick(20, [b]), null);
    assert.equal(a.available(1009), false);
    assert.equal(a.available(1010), true);
    const picks = new Set([balancer.pick(1010, null), balancer.pick(1010, null)]);
    assert.equal(picks.size, 2);
    // failures spread wider than the window do not add up
    const c = new Upstream(parseAddress('127.0.0.1:3'), health);
    c.recordFailure(0);
    assert.equal(c.recordFailure(5000), false);
  });

  it('least-conn prefers the server with fewer requests in flight', () => {
    const health = { maxFails: 1, failTimeoutMs: 1000 };
    const a = new Upstream(parseAddress('127.0.0.1:1'), health);
    const b = new Upstream(parseAddress('127.0.0.1:2'), health);
    const balancer = new Balancer([a, b], 'least-conn');
    a.active = 3;
    b.active = 1;
    assert.equal(balancer.pick(0, null), b);
    b.active = 3;
    const tie = new Set([balancer.pick(0, null), balancer.pick(0, null)]);
    assert.equal(tie.size, 2, 'ties rotate');
  });

  it('matches trusted clients by address and CIDR', () => {
    const trusted = new TrustedClients(['10.0.0.0/8', '::1', '192.0.2.7']);
    assert.ok(trusted.has('10.1.2.3'));
    assert.ok(trusted.has('::ffff:10.1.2.3'));
    assert.ok(trusted.has('::1'));
    assert.ok(trusted.has('192.0.2.7'));
    assert.ok(!trusted.has('192.0.2.8'));
    assert.ok(!trusted.has('11.0.0.1'));
    for (const bad of ['10.0.0.0/33', 'not-an-ip', '10.0.0.0/8/1']) assert.throws(() => new TrustedClients([bad]), /trusted client/);
  });
});
