/**
 * Static files through the front, on both client engines: validators and 304, preconditions and
 * 412, ranges and 416, HEAD, MIME types, index files, no listings, 405, Cache-Control per mapping,
 * precompressed siblings, streaming of files too large for the cache, and cache invalidation on
 * change.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ENGINES, request, startTestFront } from './proxy-harness.ts';
import { RawConnection } from './fixtures/raw-http.ts';
import type { TestFront } from './proxy-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'front-static-'));
const root = join(dir, 'static');
const assets = join(dir, 'assets');
const data = Buffer.alloc(102_400);
for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
const big = Buffer.alloc(300_000);
for (let i = 0; i < big.length; i++) big[i] = (i * 13 + 1) & 0xff;

before(() => {
  mkdirSync(join(root, 'docs'), { recursive: true });
  mkdirSync(join(root, 'noindex'));
  mkdirSync(assets);
  writeFileSync(join(root, 'app.css'), 'body { color: red }\n');
  writeFileSync(join(root, 'app.js'), 'console.log("plain")\n');
  writeFileSync(join(root, 'app.js.br'), 'BROTLI-BYTES');
  writeFileSync(join(root, 'app.js.gz'), 'GZIP-BYTES');
  writeFileSync(join(root, 'data.bin'), data);
  writeFileSync(join(root, 'big.bin'), big);
  writeFileSync(join(root, 'logo.png'), 'png');
  writeFileSync(join(root, 'page.html'), '<p>hi</p>');
  writeFileSync(join(root, 'conf.json'), '{}');
  writeFileSync(join(root, 'notes.unknownext'), 'x');
  writeFileSync(join(root, '.env'), 'SECRET=1');
  writeFileSync(join(root, 'docs', 'index.html'), '<h1>docs</h1>');
  writeFileSync(join(assets, 'main.3f2a.js'), 'hashed()');
});
after(() => rmSync(dir, { recursive: true, force: true }));

for (const engine of ENGINES) {
  describe(`static files (${engine})`, () => {
    let t: TestFront;
    before(async () => {
      t = await startTestFront(engine, {
        static: [`/static/=${root}`, `/assets/=${assets}`],
        'cache-control': ['/assets/=immutable'],
        'cache-max-file-size': '64k',
        'cache-revalidate': '0ms',
      });
    });
    after(() => t.close());
    const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => request(t.port, path, { headers, method });

    it('serves a file with strong validators and the right type', async () => {
      const r = await get('/static/app.css');
      assert.equal(r.status, 200);
      assert.equal(r.text, 'body { color: red }\n');
      assert.equal(r.headers['content-type'], 'text/css');
      assert.equal(r.headers['content-length'], '20');
      assert.match(r.headers.etag!, /^"[0-9a-f]+-14"$/);
      assert.ok(r.headers['last-modified']);
      assert.equal(r.headers['accept-ranges'], 'bytes');
      assert.equal(r.headers['cache-control'], undefined);
      assert.equal(r.headers.vary, undefined);
    });

    it('answers 304 for If-None-Match: exact, *, lists and weak forms; 200 otherwise', async () => {
      const { headers } = await get('/static/app.css');
      const etag = headers.etag!;
      for (const inm of [etag, '*', `"nope", ${etag}`, `W/${etag}`, ` ${etag} `]) {
        const r = await get('/static/app.css', { 'If-None-Match': inm });
        assert.equal(r.status, 304, inm);
        assert.equal(r.body.length, 0);
        assert.equal(r.headers.etag, etag);
        assert.equal(r.headers['last-modified'], headers['last-modified']);
      }
      assert.equal((await get('/static/app.css', { 'If-None-Match': '"other"' })).status, 200);
    });

    it('answers 304 for If-Modified-Since at or after Last-Modified; If-None-Match wins', async () => {
      const { headers } = await get('/static/app.css');
      const lastModified = headers['last-modified']!;
      assert.equal((await get('/static/app.css', { 'If-Modified-Since': lastModified })).status, 304);
      assert.equal((await get('/static/app.css', { 'If-Modified-Since': 'Thu, 01 Jan 2004 00:00:00 GMT' })).status, 200);
      assert.equal((await get('/static/app.css', { 'If-Modified-Since': 'not a date' })).status, 200);
      const both = await get('/static/app.css', { 'If-Modified-Since': lastModified, 'If-None-Match': '"other"' });
      assert.equal(both.status, 200);
    });

    it('answers 412 when If-Match does not match by strong comparison; 200 when it does', async () => {
      const { headers } = await get('/static/app.css');
      const etag = headers.etag!;
      for (const im of [etag, '*', `"nope", ${etag}`, ` ${etag} `]) {
        const r = await get('/static/app.css', { 'If-Match': im });
        assert.equal(r.status, 200, im);
        assert.equal(r.text, 'body { color: red }\n');
      }
      for (const im of ['"nope"', `W/${etag}`, `"nope", W/${etag}`]) {
        const r = await get('/static/app.css', { 'If-Match': im });
        assert.equal(r.status, 412, im);
        assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
        assert.match(r.text, /^Precondition failed: If-Match/);
        assert.equal(r.headers['content-length'], String(r.body.length));
        assert.equal(r.headers.etag, undefined, 'like Nginx, no validators on a 412');
      }
    });

    it('answers 412 for If-Unmodified-Since before Last-Modified; ignores it when unparseable', async () => {
      const { headers } = await get('/static/app.css');
      const past = await get('/static/app.css', { 'If-Unmodified-Since': 'Thu, 01 Jan 2004 00:00:00 GMT' });
      assert.equal(past.status, 412);
      assert.match(past.text, /^Precondition failed: .*If-Unmodified-Since/);
      assert.equal((await get('/static/app.css', { 'If-Unmodified-Since': headers['last-modified']! })).status, 200);
      assert.equal((await get('/static/app.css', { 'If-Unmodified-Since': new Date(Date.now() + 86_400_000).toUTCString() })).status, 200);
      assert.equal((await get('/static/app.css', { 'If-Unmodified-Since': 'not a date' })).status, 200);
    });

    it('evaluates If-Match before If-Unmodified-Since, and 412 before 304 and ranges; HEAD too', async () => {
      const { headers } = await get('/static/data.bin');
      const etag = headers.etag!;
      const past = 'Thu, 01 Jan 2004 00:00:00 GMT';
      assert.equal((await get('/static/data.bin', { 'If-Match': etag, 'If-Unmodified-Since': past })).status, 200);
      const wrongEtagFutureDate = await get('/static/data.bin', { 'If-Match': '"nope"', 'If-Unmodified-Since': new Date(Date.now() + 86_400_000).toUTCString() });
      assert.equal(wrongEtagFutureDate.status, 412);
      assert.match(wrongEtagFutureDate.text, /If-Match/);
      assert.equal((await get('/static/data.bin', { 'If-Match': '"nope"', 'If-None-Match': etag })).status, 412);
      assert.equal((await get('/static/data.bin', { 'If-Unmodified-Since': past, 'If-None-Match': etag })).status, 412);
      assert.equal((await get('/static/data.bin', { 'If-Match': etag, 'If-None-Match': etag })).status, 304);
      for (const conditions of [{ 'If-Match': '"nope"' }, { 'If-Unmodified-Since': past }] as Record<string, string>[]) {
        const ranged = await get('/static/data.bin', { ...conditions, Range: 'bytes=0-9' });
        assert.equal(ranged.status, 412);
        assert.equal(ranged.headers['content-range'], undefined);
        const unsatisfiable = await get('/static/data.bin', { ...conditions, Range: 'bytes=200000-' });
        assert.equal(unsatisfiable.status, 412);
        const head = await get('/static/data.bin', conditions, 'HEAD');
        assert.equal(head.status, 412);
        assert.equal(head.body.length, 0);
        assert.ok(Number(head.headers['content-length']) > 0);
      }
      const partial = await get('/static/data.bin', { 'If-Match': etag, Range: 'bytes=0-9' });
      assert.equal(partial.status, 206);
      assert.deepEqual(partial.body, data.subarray(0, 10));
      // The streamed path (file over the cache limit) checks preconditions too.
      assert.equal((await get('/static/big.bin', { 'If-Match': '"nope"' })).status, 412);
    });

    it('HEAD sends the GET headers and no body', async () => {
      const r = await get('/static/data.bin', {}, 'HEAD');
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-length'], '102400');
      assert.equal(r.headers['content-type'], 'application/octet-stream');
      assert.equal(r.body.length, 0);
    });

    it('answers pipelined GET, HEAD, 304 and 206 of a cached file in order, HTTP/1.0 keep-alive and Connection: close', async () => {
      const first = await get('/static/app.css');
      const etag = first.headers.etag!;
      const connection = await RawConnection.open(t.port);
      try {
        connection.send(
          'GET /static/app.css HTTP/1.1\r\nHost: x\r\n\r\n' +
          'HEAD /static/app.css HTTP/1.1\r\nHost: x\r\n\r\n' +
          `GET /static/app.css HTTP/1.1\r\nHost: x\r\nIf-None-Match: ${etag}\r\n\r\n` +
          'GET /static/app.css HTTP/1.1\r\nHost: x\r\nRange: bytes=0-3\r\n\r\n' +
          'GET /static/app.css HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
        );
        const [full, head, notModified, partial, old] = await connection.responses(5, [false, true]);
        for (const r of [full, head, notModified, partial, old]) {
          assert.match(r!.headers['x-request-id']!, /^[0-9a-f-]{36}$/);
          assert.ok(r!.headers.date);
          assert.equal(r!.headers.etag, etag);
        }
        assert.deepEqual([full!.status, full!.body, full!.headers['content-length'], full!.headers['content-type'], full!.headers['accept-ranges']], [200, 'body { color: red }\n', '20', 'text/css', 'bytes']);
        assert.deepEqual([head!.status, head!.body, head!.headers['content-length']], [200, '', '20']);
        assert.deepEqual([notModified!.status, notModified!.body], [304, '']);
        assert.deepEqual([partial!.status, partial!.body, partial!.headers['content-range']], [206, 'body', 'bytes 0-3/20']);
        assert.deepEqual([old!.status, old!.body, old!.headers.connection], [200, 'body { color: red }\n', 'keep-alive']);
        assert.notEqual(full!.headers['x-request-id'], head!.headers['x-request-id']);
        connection.send('GET /static/app.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        const [last] = await connection.responses(1);
        assert.deepEqual([last!.status, last!.body, last!.headers.connection], [200, 'body { color: red }\n', 'close']);
        assert.equal(await connection.waitClosed(5000), true);
      } finally {
        connection.close();
      }
    });

    it('serves single byte ranges with 206 and Content-Range', async () => {
      const cases: [string, number, number][] = [
        ['bytes=0-9', 0, 9],
        ['bytes=-10', 102_390, 102_399],
        ['bytes=102390-', 102_390, 102_399],
        ['bytes=100-199', 100, 199],
        ['bytes=102000-999999', 102_000, 102_399],
      ];
      for (const [range, start, end] of cases) {
        const r = await get('/static/data.bin', { Range: range });
        assert.equal(r.status, 206, range);
        assert.equal(r.headers['content-range'], `bytes ${start}-${end}/102400`);
        assert.equal(r.headers['content-length'], String(end - start + 1));
        assert.deepEqual(r.body, data.subarray(start, end + 1));
      }
    });

    it('answers 416 with Content-Range: bytes */size for unsatisfiable ranges', async () => {
      for (const range of ['bytes=200000-300000', 'bytes=5-2', 'bytes=102400-']) {
        const r = await get('/static/data.bin', { Range: range });
        assert.equal(r.status, 416, range);
        assert.equal(r.headers['content-range'], 'bytes */102400');
      }
    });

    it('ignores malformed and multi-part ranges (200 full)', async () => {
      for (const range of ['items=0-9', 'bytes=0-0,10-11', 'bytes=a-b', 'bytes=']) {
        const r = await get('/static/data.bin', { Range: range });
        assert.equal(r.status, 200, range);
        assert.equal(r.body.length, 102_400);
      }
    });

    it('honours If-Range: current ETag or date → 206, stale → 200 full', async () => {
      const { headers } = await get('/static/data.bin');
      assert.equal((await get('/static/data.bin', { Range: 'bytes=0-9', 'If-Range': headers.etag! })).status, 206);
      assert.equal((await get('/static/data.bin', { Range: 'bytes=0-9', 'If-Range': headers['last-modified']! })).status, 206);
      const stale = await get('/static/data.bin', { Range: 'bytes=0-9', 'If-Range': '"stale"' });
      assert.equal(stale.status, 200);
      assert.equal(stale.body.length, 102_400);
      assert.equal((await get('/static/data.bin', { Range: 'bytes=0-9', 'If-Range': 'Thu, 01 Jan 2004 00:00:00 GMT' })).status, 200);
    });

    it('streams files larger than the cache limit, ranges included', async () => {
      const full = await get('/static/big.bin');
      assert.equal(full.status, 200);
      assert.equal(full.headers['content-length'], '300000');
      assert.ok(full.body.equals(big));
      const part = await get('/static/big.bin', { Range: 'bytes=123456-223455' });
      assert.equal(part.status, 206);
      assert.ok(part.body.equals(big.subarray(123_456, 223_456)));
      const head = await get('/static/big.bin', {}, 'HEAD');
      assert.equal(head.headers['content-length'], '300000');
      assert.equal(head.body.length, 0);
    });

    it('serves precompressed siblings by Accept-Encoding, with Vary', async () => {
      const br = await get('/static/app.js', { 'Accept-Encoding': 'gzip, deflate, br' });
      assert.equal(br.text, 'BROTLI-BYTES');
      assert.equal(br.headers['content-encoding'], 'br');
      assert.equal(br.headers['content-type'], 'application/javascript');
      assert.equal(br.headers.vary, 'Accept-Encoding');
      const gz = await get('/static/app.js', { 'Accept-Encoding': 'gzip' });
      assert.equal(gz.text, 'GZIP-BYTES');
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.equal((await get('/static/app.js', { 'Accept-Encoding': 'br;q=0, gzip' })).text, 'GZIP-BYTES');
      assert.equal((await get('/static/app.js', { 'Accept-Encoding': 'gzip;q=0.5, br;q=0.9' })).text, 'BROTLI-BYTES');
      assert.equal((await get('/static/app.js', { 'Accept-Encoding': '*' })).text, 'BROTLI-BYTES');
      const plain = await get('/static/app.js');
      assert.equal(plain.text, 'console.log("plain")\n');
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.equal(plain.headers.vary, 'Accept-Encoding');
      assert.equal((await get('/static/app.js', { 'Accept-Encoding': 'identity' })).text, 'console.log("plain")\n');
      assert.notEqual(br.headers.etag, plain.headers.etag);
      assert.notEqual(br.headers.etag, gz.headers.etag);
      const notModified = await get('/static/app.js', { 'Accept-Encoding': 'br', 'If-None-Match': br.headers.etag! });
      assert.equal(notModified.status, 304);
      assert.equal(notModified.headers.vary, 'Accept-Encoding');
      assert.equal((await get('/static/app.js', { 'If-None-Match': br.headers.etag! })).status, 200, 'the br ETag does not validate the plain file');
      assert.equal((await get('/static/app.js', { 'Accept-Encoding': 'br', 'If-Match': br.headers.etag! })).text, 'BROTLI-BYTES');
      assert.equal((await get('/static/app.js', { 'Accept-Encoding': 'gzip', 'If-Match': br.headers.etag! })).status, 412, 'If-Match compares with the selected variant');
      assert.equal((await get('/static/app.js', { 'If-Match': plain.headers.etag! })).status, 200);
      assert.equal((await get('/static/app.js', { 'Accept-Encoding': 'br', 'If-Match': plain.headers.etag! })).status, 412);
    });

    it('serves index files, redirects folders without a slash, never lists folders', async () => {
      const index = await get('/static/docs/');
      assert.equal(index.status, 200);
      assert.equal(index.text, '<h1>docs</h1>');
      assert.equal(index.headers['content-type'], 'text/html');
      const redirect = await get('/static/docs');
      assert.equal(redirect.status, 301);
      assert.equal(redirect.headers.location, '/static/docs/');
      const noIndex = await get('/static/noindex/');
      assert.equal(noIndex.status, 403);
      assert.match(noIndex.text, /not listed/);
      assert.equal((await get('/static/')).status, 403);
      const mount = await get('/static');
      assert.equal(mount.status, 301);
      assert.equal(mount.headers.location, '/static/');
    });

    it('answers 405 with Allow for methods other than GET and HEAD', async () => {
      for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
        const r = await get('/static/app.css', {}, method);
        assert.equal(r.status, 405, method);
        assert.equal(r.headers.allow, 'GET, HEAD');
      }
    });

    it('answers 404 for missing files and dotfiles, with no upstream to fall back to', async () => {
      assert.equal((await get('/static/missing.css')).status, 404);
      assert.equal((await get('/static/.env')).status, 404);
      assert.equal((await get('/static/docs/.hidden/x')).status, 404);
      const elsewhere = await get('/api/ping/');
      assert.equal(elsewhere.status, 404);
      assert.match(elsewhere.text, /no static folder or upstream/);
    });

    it('picks Content-Type from the extension', async () => {
      const types: [string, string][] = [
        ['/static/logo.png', 'image/png'],
        ['/static/page.html', 'text/html'],
        ['/static/conf.json', 'application/json'],
        ['/static/notes.unknownext', 'application/octet-stream'],
        ['/assets/main.3f2a.js', 'application/javascript'],
      ];
      for (const [path, type] of types) assert.equal((await get(path)).headers['content-type'], type, path);
    });

    it('sends Cache-Control per mapping', async () => {
      const hashed = await get('/assets/main.3f2a.js');
      assert.equal(hashed.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.equal((await get('/assets/main.3f2a.js', { 'If-None-Match': hashed.headers.etag! })).headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.equal((await get('/static/app.css')).headers['cache-control'], undefined);
    });

    it('notices a changed, then a deleted file (revalidation on every request here)', async () => {
      const file = join(root, `changing-${engine}.txt`);
      writeFileSync(file, 'version one');
      const first = await get(`/static/changing-${engine}.txt`);
      assert.equal(first.text, 'version one');
      writeFileSync(file, 'version two'); // same size: only mtime/ctime tell
      utimesSync(file, new Date(), new Date(Date.now() + 5000));
      const second = await get(`/static/changing-${engine}.txt`);
      assert.equal(second.text, 'version two');
      assert.notEqual(second.headers.etag, first.headers.etag);
      assert.equal((await get(`/static/changing-${engine}.txt`, { 'If-None-Match': first.headers.etag! })).status, 200);
      unlinkSync(file);
      assert.equal((await get(`/static/changing-${engine}.txt`)).status, 404);
    });

    it('keeps the in-memory cache within its bounds', async () => {
      const cache = t.front.core.cache;
      assert.ok(cache.size <= cache.options.maxBytes);
      assert.ok(cache.count >= 1);
      for (const entry of ['app.css', 'data.bin', 'big.bin']) await get(`/static/${entry}`);
      assert.ok(cache.size < 64 * 1024 + 102_400 + 100, 'big.bin (over the per-file limit) is not held in memory');
    });
  });
}

describe('static cache with a revalidation interval', () => {
  it('serves the cached copy within the interval and the new file after it', async () => {
    const t = await startTestFront('http', { static: [`/static/=${root}`], 'cache-revalidate': '150ms' });
    try {
      const file = join(root, 'interval.txt');
      writeFileSync(file, 'old!');
      assert.equal((await request(t.port, '/static/interval.txt')).text, 'old!');
      writeFileSync(file, 'new!');
      utimesSync(file, new Date(), new Date(Date.now() + 5000));
      // Within the interval the front may still answer from memory (bounded staleness, like
      // Nginx's open_file_cache_valid); after it, it must see the change.
      await new Promise((r) => setTimeout(r, 200));
      assert.equal((await request(t.port, '/static/interval.txt')).text, 'new!');
    } finally {
      await t.close();
    }
  });

  it('evicts to stay under cache-max-bytes', async () => {
    const t = await startTestFront('http', { static: [`/static/=${root}`], 'cache-max-bytes': '110k', 'cache-max-file-size': '110k' });
    try {
      await request(t.port, '/static/data.bin');
      await request(t.port, '/static/app.css');
      await request(t.port, '/static/data.bin');
      for (const name of ['logo.png', 'page.html', 'conf.json']) await request(t.port, `/static/${name}`);
      assert.ok(t.front.core.cache.size <= 110 * 1024);
    } finally {
      await t.close();
    }
  });
});
