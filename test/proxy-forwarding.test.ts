/**
 * What the proxy adds, removes and passes on, on both engines: X-Forwarded-* chains and trust,
 * X-Request-Id, hop-by-hop headers in both directions (including names listed in Connection),
 * Server-Timing, request bodies (buffered, re-framed with Content-Length, 413), HEAD, 204/304,
 * large responses streamed with either framing, keep-alive reuse, and the access log line.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ENGINES, rawRequest, request, startRawUpstream, startTestFront, startUpstream } from './proxy-harness.ts';
import type { RawUpstream, TestFront, TestUpstream } from './proxy-harness.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BIG = Buffer.alloc(2 * 1024 * 1024 + 17);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 31 + 7) & 0xff;

for (const engine of ENGINES) {
  describe(`proxy forwarding (${engine})`, () => {
    let upstream: TestUpstream;
    let raw: RawUpstream;
    let front: TestFront;
    let trustedFront: TestFront;
    let rawFront: TestFront;

    before(async () => {
      upstream = await startUpstream((seen, req, res) => {
        if (seen.url === '/big-length') {
          res.writeHead(200, { 'Content-Length': BIG.length, 'Content-Type': 'application/octet-stream' });
          return res.end(BIG);
        }
        if (seen.url === '/big-chunked') {
          res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
          for (let at = 0; at < BIG.length; at += 100_000) res.write(BIG.subarray(at, at + 100_000));
          return res.end();
        }
        if (seen.url === '/no-content') {
          res.writeHead(204);
          return res.end();
        }
        if (seen.url === '/not-modified') {
          res.writeHead(304, { ETag: '"v1"' });
          return res.end();
        }
        if (seen.url === '/head-length' && req.method === 'HEAD') {
          res.writeHead(200, { 'Content-Length': '1234', 'Content-Type': 'text/plain' });
          return res.end();
        }
        const body = JSON.stringify({ headers: seen.headers, raw: seen.rawHeaders, body: seen.body, url: seen.url, method: seen.method });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Server-Timing': 'app;dur=1.5' });
        res.end(body);
      });
      raw = await startRawUpstream((head, socket) => {
        const path = head.split(' ')[1];
        if (path === '/hop') {
          socket.write(
            'HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Up-Hop\r\nX-Up-Hop: secret\r\nKeep-Alive: timeout=99\r\n' +
              'Proxy-Authenticate: Basic\r\nTrailer: X-T\r\nUpgrade: foo\r\nProxy-Connection: keep-alive\r\nX-End: kept\r\n' +
              'Date: Mon, 01 Jan 2001 00:00:00 GMT\r\nContent-Length: 2\r\n\r\nok',
          );
        } else if (path === '/early') {
          // An interim 103 and a final head split across reads: the parser must skip the first
          // and keep the start of the second until the rest arrives.
          socket.write('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nX-Fin');
          // (long enough that the next read overwrites where the kept part sat in the read buffer)
          setTimeout(() => socket.write(`al: yes\r\nX-Pad: ${'p'.repeat(300)}\r\nContent-Length: 5\r\n\r\nfinal`), 30);
        } else if (path === '/obs') {
          socket.write(Buffer.from('HTTP/1.1 200 OK\r\nX-Name: caf\xe9\r\nContent-Length: 2\r\n\r\nok', 'latin1'));
        } else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno');
      });
      front = await startTestFront(engine, { upstream: [upstream.address], 'max-body-size': '1k', 'server-timing': true });
      trustedFront = await startTestFront(engine, { upstream: [upstream.address], trusted: ['127.0.0.1', '10.0.0.0/8'] });
      rawFront = await startTestFront(engine, { upstream: [raw.address], 'server-timing': true });
    });
    after(async () => {
      await Promise.all([front.close(), trustedFront.close(), rawFront.close()]);
      await Promise.all([upstream.close(), raw.close()]);
    });

    const echo = async (port: number, headers: Record<string, string | string[]> = {}, path = '/api/echo/') => {
      const r = await request(port, path, { headers });
      assert.equal(r.status, 200, r.text);
      return JSON.parse(r.text) as { headers: Record<string, string>; raw: string[]; body: string; url: string; method: string };
    };

    it('appends the client address to X-Forwarded-For', async () => {
      assert.equal((await echo(front.port)).headers['x-forwarded-for'], '127.0.0.1');
      assert.equal((await echo(front.port, { 'X-Forwarded-For': '203.0.113.7, 198.51.100.2' })).headers['x-forwarded-for'], '203.0.113.7, 198.51.100.2, 127.0.0.1');
      assert.equal((await echo(front.port, { 'X-Forwarded-For': ['203.0.113.7', '198.51.100.2'] })).headers['x-forwarded-for'], '203.0.113.7, 198.51.100.2, 127.0.0.1');
    });

    it('replaces X-Forwarded-Proto/-Host, X-Request-Id and drops Forwarded from untrusted clients', async () => {
      const seen = await echo(front.port, { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'evil.example', 'X-Request-Id': 'abc', Forwarded: 'for=1.2.3.4', Host: 'app.example:8080' });
      assert.equal(seen.headers['x-forwarded-proto'], 'http');
      assert.equal(seen.headers['x-forwarded-host'], 'app.example:8080');
      assert.equal(seen.headers.host, 'app.example:8080');
      assert.match(seen.headers['x-request-id']!, UUID);
      assert.equal(seen.headers.forwarded, undefined);
      const again = await echo(front.port);
      assert.notEqual(again.headers['x-request-id'], seen.headers['x-request-id']);
    });

    it('keeps them from trusted clients (another proxy in front), validating the request id', async () => {
      const seen = await echo(trustedFront.port, { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'shop.example', 'X-Request-Id': 'lb-1234.abc', Forwarded: 'for=1.2.3.4;proto=https', 'X-Forwarded-For': '198.51.100.9' });
      assert.equal(seen.headers['x-forwarded-proto'], 'https');
      assert.equal(seen.headers['x-forwarded-host'], 'shop.example');
      assert.equal(seen.headers['x-request-id'], 'lb-1234.abc');
      assert.equal(seen.headers.forwarded, 'for=1.2.3.4;proto=https');
      assert.equal(seen.headers['x-forwarded-for'], '198.51.100.9, 127.0.0.1');
      assert.match((await echo(trustedFront.port, { 'X-Request-Id': 'has spaces; and junk' })).headers['x-request-id']!, UUID);
    });

    it('strips hop-by-hop request headers, names listed in Connection and underscored names', async () => {
      const seen = await echo(front.port, {
        Connection: 'keep-alive, X-Custom-Hop',
        'X-Custom-Hop': '1',
        'Keep-Alive': 'timeout=5',
        TE: 'trailers',
        Upgrade: 'foo',
        'Proxy-Authorization': 'Basic Zm9vOmJhcg==',
        'Proxy-Connection': 'keep-alive',
        'X-Kept': 'yes',
      });
      for (const name of ['connection', 'x-custom-hop', 'keep-alive', 'te', 'upgrade', 'proxy-authorization', 'proxy-connection']) {
        assert.equal(seen.headers[name], undefined, name);
      }
      assert.equal(seen.headers['x-kept'], 'yes');
      assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    });

    it('never forwards header names with underscores (X_Forwarded_For would alias X-Forwarded-For)', async () => {
      const before = upstream.requests.length;
      const reply = await rawRequest(front.port, 'GET /api/echo/ HTTP/1.1\r\nHost: t\r\nX_Forwarded_For: 6.6.6.6\r\nConnection: close\r\n\r\n');
      assert.equal(reply.status, 200);
      assert.equal(upstream.requests.length, before + 1);
      const seen = upstream.requests.at(-1)!;
      assert.equal(seen.headers['x_forwarded_for'], undefined);
      assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    });

    it('strips hop-by-hop headers before adding its own: Connection cannot delete X-Forwarded-For', async () => {
      const seen = await echo(front.port, { Connection: 'X-Forwarded-For, X-Request-Id', 'X-Forwarded-For': '6.6.6.6' });
      assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
      assert.match(seen.headers['x-request-id']!, UUID);
      assert.equal(seen.headers['x-forwarded-proto'], 'http');
    });

    it('strips hop-by-hop response headers and names listed in Connection', async () => {
      const r = await request(rawFront.port, '/hop');
      assert.equal(r.status, 200);
      assert.equal(r.text, 'ok');
      assert.equal(r.headers['x-end'], 'kept');
      for (const name of ['x-up-hop', 'proxy-authenticate', 'trailer', 'upgrade', 'proxy-connection']) assert.equal(r.headers[name], undefined, name);
      assert.notEqual(r.headers['keep-alive'], 'timeout=99');
      assert.notEqual(r.headers.date, 'Mon, 01 Jan 2001 00:00:00 GMT', 'the front stamps its own Date');
      assert.ok(r.headers.date);
    });

    it('skips interim 1xx responses and reassembles a head split across reads', async () => {
      const r = await request(rawFront.port, '/early');
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-final'], 'yes');
      assert.equal(r.text, 'final');
    });

    it('passes header bytes above 0x7f (obs-text) through unchanged', async () => {
      const reply = await rawRequest(rawFront.port, 'GET /obs HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
      assert.match(reply.text, /\r\nX-Name: caf\xe9\r\n/);
    });

    it('appends its own entries to Server-Timing with --server-timing, and only then', async () => {
      const r = await request(front.port, '/api/echo/');
      assert.match(r.headers['server-timing'] as string, /^app;dur=1\.5, upstream;dur=\d+(\.\d{1,3})?, proxy;dur=\d+(\.\d{1,3})?$/);
      const plain = await request(rawFront.port, '/plain');
      assert.match(plain.headers['server-timing'] as string, /^upstream;dur=\d+(\.\d{1,3})?, proxy;dur=\d+(\.\d{1,3})?$/);
      // Off (the default): the app's own entry passes through untouched, and none is made up.
      assert.equal((await request(trustedFront.port, '/api/echo/')).headers['server-timing'], 'app;dur=1.5');
    });

    it('gives HTTP/1.0 requests without Host the front\'s own address', async () => {
      const reply = await rawRequest(front.port, 'GET /api/old/ HTTP/1.0\r\n\r\n');
      assert.equal(reply.status, 200);
      const seen = upstream.requests.at(-1)!;
      assert.equal(seen.url, '/api/old/');
      assert.equal(seen.headers.host, `127.0.0.1:${front.port}`);
    });

    it('passes the request target through untouched', async () => {
      const seen = await echo(front.port, {}, '/api/a%2Fb/?x=1&y=%20&z');
      assert.equal(seen.url, '/api/a%2Fb/?x=1&y=%20&z');
    });

    it('buffers bodies and forwards them with a Content-Length, chunked or not', async () => {
      const sized = JSON.parse((await request(front.port, '/api/post/', { method: 'POST', body: 'hello', headers: { 'Content-Type': 'text/plain' } })).text);
      assert.equal(sized.body, 'hello');
      assert.equal(sized.headers['content-length'], '5');
      const chunked = await new Promise<string>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: front.port, path: '/api/post/', method: 'POST', agent: false, headers: { 'Transfer-Encoding': 'chunked' } }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.write('first,');
        setTimeout(() => req.end('second'), 20);
      });
      const seen = JSON.parse(chunked);
      assert.equal(seen.body, 'first,second');
      assert.equal(seen.headers['content-length'], '12');
      assert.equal(seen.headers['transfer-encoding'], undefined);
      const empty = JSON.parse((await request(front.port, '/api/post/', { method: 'POST' })).text);
      assert.equal(empty.headers['content-length'], '0');
      const get = await echo(front.port);
      assert.equal(get.headers['content-length'], undefined);
    });

    it('answers 413 past max-body-size, declared or streamed, without reaching the upstream', async () => {
      const before = upstream.requests.length;
      const declared = await request(front.port, '/api/post/', { method: 'POST', body: 'x'.repeat(2000) });
      assert.equal(declared.status, 413);
      assert.match(declared.text, /limit is 1024/);
      const streamed = await rawRequest(front.port, `POST /api/post/ HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n${'a'.repeat(1024)}\r\n400\r\n${'b'.repeat(1024)}\r\n0\r\n\r\n`);
      assert.equal(streamed.status, 413);
      assert.equal(upstream.requests.length, before);
      const exact = await request(front.port, '/api/post/', { method: 'POST', body: 'y'.repeat(1024) });
      assert.equal(exact.status, 200);
    });

    it('passes HEAD, 204 and 304 through without bodies', async () => {
      const head = await request(front.port, '/head-length', { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], '1234');
      assert.equal(head.body.length, 0);
      const noContent = await rawRequest(front.port, 'GET /no-content HTTP/1.1\r\nHost: t\r\n\r\n');
      assert.equal(noContent.status, 204);
      assert.ok(noContent.text.endsWith('\r\n\r\n'));
      assert.doesNotMatch(noContent.text, /content-length|transfer-encoding/i);
      const notModified = await request(front.port, '/not-modified');
      assert.equal(notModified.status, 304);
      assert.equal(notModified.headers.etag, '"v1"');
    });

    it('streams large responses intact with either framing', async () => {
      const sized = await request(front.port, '/big-length');
      assert.equal(sized.headers['content-length'], String(BIG.length));
      assert.ok(sized.body.equals(BIG));
      const chunked = await request(front.port, '/big-chunked');
      assert.equal(chunked.headers['content-length'], undefined);
      assert.ok(chunked.body.equals(BIG));
    });

    it('reuses kept-alive upstream connections', async () => {
      const accepted = upstream.accepted;
      for (let i = 0; i < 20; i++) await request(front.port, '/api/echo/');
      assert.ok(upstream.accepted - accepted <= 1, `opened ${upstream.accepted - accepted} connections for 20 sequential requests`);
    });
  });
}

describe('access log', () => {
  const dir = mkdtempSync(join(tmpdir(), 'front-log-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const engine of ENGINES) {
    it(`writes combined format plus upstream address and time (${engine})`, async () => {
      const upstream = await startUpstream();
      const file = join(dir, `access-${engine}.log`);
      const t = await startTestFront(engine, { upstream: [upstream.address], 'access-log': file });
      try {
        const reply = await request(t.port, '/api/ping/?q=1', { headers: { Referer: 'http://ref.example/', 'User-Agent': 'tester "quoted"' } });
        const id = String(reply.headers['x-request-id']);
        assert.match(id, UUID);
        assert.equal(upstream.requests[0]!.headers['x-request-id'], id);
        await t.close(); // flushes and closes the log file
        const line = readFileSync(file, 'utf8').trim();
        assert.match(
          line,
          new RegExp(
            String.raw`^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET /api/ping/\?q=1 HTTP/1\.1" 200 \d+ "http://ref\.example/" "tester \\x22quoted\\x22" ` +
              String.raw`upstream=127\.0\.0\.1:${upstream.port} upstream_time=\d+\.\d{3} request_time=\d+\.\d{3} request_id=${id}$`,
          ),
        );
      } finally {
        await t.close();
        await upstream.close();
      }
    });
  }

  it('logs refused requests too, with their status and request id (net)', async () => {
    const file = join(dir, 'access-refused.log');
    const t = await startTestFront('net', { upstream: ['127.0.0.1:9'], 'access-log': file });
    try {
      const reply = await rawRequest(t.port, 'GET /api/x HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n');
      assert.equal(reply.status, 400);
      const id = /\r\nX-Request-Id: ([0-9a-f-]{36})\r\n/i.exec(reply.text)?.[1];
      assert.ok(id !== undefined, 'the refusal carries a request id');
      await t.close();
      assert.match(readFileSync(file, 'utf8').trim(), new RegExp(String.raw`"GET /api/x HTTP/1\.1" 400 \d+ "-" "-" upstream=- .* request_id=${id}$`));
    } finally {
      await t.close();
    }
  });
});
