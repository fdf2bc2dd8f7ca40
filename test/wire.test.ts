/**
 * The HTTP/1.1 wire layer's pure pieces: addresses, field syntax, status lines, Connection
 * parsing, refusal classification, the access-log line and content types.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAccessLine, logSeconds } from '../wire/access-log.ts';
import { formatAddress, parseAddress } from '../options/grammar.ts';
import { connectionTokens, listedInConnection } from '../wire/hop-by-hop.ts';
import { contentTypeFor } from '../wire/mime.ts';
import { closingReply } from '../wire/plain-reply.ts';
import { parserRefusal } from '../wire/refusal.ts';
import { statusLine } from '../wire/status-line.ts';
import { fieldValueClass, hasInvalidValueChar, isDecimal, isToken, trimOws, VALUE_BAD, VALUE_OBS_TEXT, VALUE_OK } from '../wire/syntax.ts';

describe('addresses (the one address type, options/grammar.ts)', () => {
  it('prints what it parses, and refuses a relative unix socket path', () => {
    for (const text of ['127.0.0.1:8001', '[::1]:8001', 'unix:/run/app.sock']) assert.equal(formatAddress(parseAddress(text, { unix: true })), text);
    for (const text of ['unix:relative.sock', 'unix:', 'unix:./app.sock']) assert.throws(() => parseAddress(text, { unix: true }), /unix:\/path\/to\.sock/, text);
  });
});

describe('field syntax', () => {
  it('knows tokens, field values, OWS and decimals as RFC 9110 defines them', () => {
    for (const name of ['content-type', 'X.Custom|Pipe', "!#$%&'*+-.^_`|~09azAZ"]) assert.ok(isToken(name), name);
    for (const name of ['', 'a b', 'a:b', 'a\tb', 'naïve', 'a"b', 'a(b)']) assert.ok(!isToken(name), JSON.stringify(name));
    assert.ok(!hasInvalidValueChar('text/html; charset=utf-8\tx'));
    assert.ok(!hasInvalidValueChar('caf\xe9'));
    for (const bad of ['a\rb', 'a\nb', 'a\0b', 'a\x7fb', 'a\u0100b']) assert.ok(hasInvalidValueChar(bad), JSON.stringify(bad));
    assert.equal(fieldValueClass('xx ok\t.', 2, 7), VALUE_OK);
    assert.equal(fieldValueClass('caf\xe9', 0, 4), VALUE_OBS_TEXT);
    assert.equal(fieldValueClass('a\x01', 0, 2), VALUE_BAD);
    assert.equal(trimOws(' \t chunked \t'), 'chunked');
    assert.equal(trimOws('\vchunked'), '\vchunked', 'only SP and HTAB are whitespace here');
    for (const good of ['0', '42', '123456789012345']) assert.ok(isDecimal(good), good);
    for (const bad of ['', '-1', '+1', '1 ', '0x10', '1e3', '1234567890123456', '١']) assert.ok(!isDecimal(bad), bad);
  });
});

describe('status lines and plain replies', () => {
  it('uses the standard phrase unless the upstream sent its own', () => {
    assert.equal(statusLine(404), '404 Not Found');
    assert.equal(statusLine(200, 'OK'), '200 OK');
    assert.equal(statusLine(200, 'Fine'), '200 Fine');
    assert.equal(statusLine(599), '599 Unknown');
    assert.equal(statusLine(201), '201 Created');
  });

  it('writes a complete closing reply for a raw socket', () => {
    assert.equal(closingReply(431, 'text/plain; charset=utf-8', 'too big\n'), 'HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big\n');
  });
});

describe('Connection and hop-by-hop', () => {
  it('lists the names every Connection field names, lower-cased, empty elements skipped', () => {
    assert.deepEqual(connectionTokens(' Close ,, X-Secret'), ['close', 'x-secret']);
    assert.equal(listedInConnection(['Host', 'a', 'Accept', '*/*']), null);
    assert.deepEqual([...listedInConnection(['Connection', 'keep-alive, X-A', 'connection', 'x-b'])!], ['keep-alive', 'x-a', 'x-b']);
  });
});

describe('refusals', () => {
  it("classifies node:http's parser errors as 431, 408 or 400, and a gone client as nothing", () => {
    const error = (code: string, message = 'Parse Error: x') => Object.assign(new Error(message), { code });
    assert.deepEqual(parserRefusal(error('HPE_HEADER_OVERFLOW'), true, 16384), { failed: true, kind: 'head-too-large', status: 431, reason: 'Request header fields too large (limit 16384 bytes).' });
    assert.equal(parserRefusal(error('HPE_HEADERS_TIMEOUT'), true, 1)!.status, 408);
    assert.equal(parserRefusal(error('ERR_HTTP_REQUEST_TIMEOUT'), true, 1)!.kind, 'header-timeout');
    assert.deepEqual(parserRefusal(error('HPE_INVALID_METHOD', 'Parse Error: Invalid method encountered'), true, 1), { failed: true, kind: 'method', status: 400, reason: 'Bad request: Invalid method encountered.' });
    assert.equal(parserRefusal(error('HPE_UNEXPECTED_CONTENT_LENGTH'), true, 1)!.kind, 'ambiguous-framing');
    assert.equal(parserRefusal(error('HPE_SOMETHING_NEW'), true, 1)!.kind, 'request-line');
    assert.equal(parserRefusal(error('ECONNRESET'), true, 1), null);
    assert.equal(parserRefusal(error('HPE_INVALID_METHOD'), false, 1), null);
  });
});

describe('access log line', () => {
  const at = Date.UTC(2026, 10, 29, 12, 0, 0);
  const base = { client: '127.0.0.1', method: 'GET', target: '/x', httpVersion: '1.1', status: 200, bytes: 11, referer: '', userAgent: 'ua', requestMs: 1.5 };

  it("writes Nginx's combined format with the request time, escaping what the client sent", () => {
    const line = formatAccessLine({ ...base, target: '/a"b\n', referer: 'http://x/', userAgent: 'evil"\r\nagent' }, at);
    assert.equal(line, '127.0.0.1 - - [29/Nov/2026:12:00:00 +0000] "GET /a\\x22b\\x0a HTTP/1.1" 200 11 "http://x/" "evil\\x22\\x0d\\x0aagent" request_time=0.002');
    assert.equal(formatAccessLine({ ...base, target: '/a"b\\c', userAgent: 'tab\there' }, at).includes('"GET /a\\x22b\\x5cc HTTP/1.1" 200 11 "-" "tab\\x09here"'), true);
  });

  it("adds the front's upstream and its time", () => {
    assert.equal(
      formatAccessLine({ ...base, upstream: '127.0.0.1:8001', upstreamMs: 2, requestMs: 3 }, at),
      '127.0.0.1 - - [29/Nov/2026:12:00:00 +0000] "GET /x HTTP/1.1" 200 11 "-" "ua" upstream=127.0.0.1:8001 upstream_time=0.002 request_time=0.003',
    );
    assert.ok(formatAccessLine({ ...base, upstream: '-', upstreamMs: -1 }, at).endsWith(' upstream=- upstream_time=- request_time=0.002'));
    assert.ok(formatAccessLine({ ...base, upstream: '-', upstreamMs: -1, requestId: 'req-1' }, at).endsWith(' request_time=0.002 request_id=req-1'));
    assert.ok(formatAccessLine({ ...base, upstream: '-', upstreamMs: -1, requestId: '' }, at).endsWith(' request_time=0.002 request_id=-'));
  });

  it('writes seconds with three decimals, as Nginx does', () => {
    const times: [number, string][] = [[-1, '-'], [0.0004, '0.000'], [2.5, '0.003'], [42, '0.042'], [999.6, '1.000'], [1234.5678, '1.235'], [61000, '61.000']];
    for (const [ms, text] of times) assert.equal(logSeconds(ms), text, String(ms));
  });
});

describe('content types', () => {
  it('maps extensions to types', () => {
    assert.equal(contentTypeFor('a/b/app.CSS'), 'text/css');
    assert.equal(contentTypeFor('x.mjs'), 'application/javascript');
    assert.equal(contentTypeFor('x.woff2'), 'font/woff2');
    assert.equal(contentTypeFor('x.svg'), 'image/svg+xml');
    assert.equal(contentTypeFor('README'), 'application/octet-stream');
    assert.equal(contentTypeFor('dir.d/README'), 'application/octet-stream');
    assert.equal(contentTypeFor('x.constructor'), 'application/octet-stream');
    assert.equal(contentTypeFor('trailing.'), 'application/octet-stream');
    assert.equal(contentTypeFor('x.__proto__'), 'application/octet-stream');
  });

  it("answers as Nginx's mime.types where mime-db differs, and adds no charset (Nginx's charset off)", () => {
    assert.equal(contentTypeFor('app.js'), 'application/javascript');
    assert.equal(contentTypeFor('favicon.ico'), 'image/x-icon');
    assert.equal(contentTypeFor('feed.xml'), 'text/xml');
    assert.equal(contentTypeFor('index.html'), 'text/html');
    assert.equal(contentTypeFor('notes.txt'), 'text/plain');
    // From mime-db, beyond what a hand-written table had:
    assert.equal(contentTypeFor('x.webmanifest'), 'application/manifest+json');
    assert.equal(contentTypeFor('x.avif'), 'image/avif');
    assert.equal(contentTypeFor('x.jxl'), 'image/jxl');
  });
});
