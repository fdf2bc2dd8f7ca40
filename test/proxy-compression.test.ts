/**
 * Compression of proxied responses on both engines, as Nginx's gzip module behaves: chosen by
 * Accept-Encoding with q-values, only listed types above the minimum length, never for bodies
 * the upstream encoded, HEAD, Range, 204/304; Vary added, ETag weakened; streamed bodies
 * compressed whole; a response that breaks midway is cut, never completed with a valid trailer.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { acceptedCodings, chooseCoding } from '../proxy/compression/negotiate.ts';
import { ENGINES, request, startRawUpstream, startTestFront, startUpstream } from './proxy-harness.ts';
import type { RawUpstream, TestFront, TestUpstream } from './proxy-harness.ts';

const JSON_BODY = JSON.stringify(Array.from({ length: 400 }, (_, i) => ({ id: i, name: `user ${i}`, email: `user${i}@example.com` })));
const BIG_TEXT = Buffer.from('All work and no play makes Jack a dull boy. '.repeat(60_000)); // 2.6 MB

function decode(encoding: string | undefined, body: Buffer): Buffer {
  if (encoding === 'gzip') return gunzipSync(body);
  if (encoding === 'br') return brotliDecompressSync(body);
  return body;
}

/** GET that reports whether the response completed (false when the connection was cut). */
function fetchWhole(port: number, path: string, headers: Record<string, string>): Promise<{ complete: boolean; status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const finish = (complete: boolean) => resolve({ complete: complete && res.complete, status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) });
      res.on('end', () => finish(true));
      res.on('error', () => finish(false));
      res.on('aborted', () => finish(false));
    });
    req.on('error', () => resolve({ complete: false, status: 0, headers: {}, body: Buffer.alloc(0) }));
  });
}

describe('Accept-Encoding negotiation', () => {
  it('honours q-values, * and x-gzip, and prefers br on ties', () => {
    assert.equal(chooseCoding('gzip, deflate, br', true, true), 'br');
    assert.equal(chooseCoding('br;q=0.5, gzip;q=0.9', true, true), 'gzip');
    assert.equal(chooseCoding('gzip;q=0, br;q=0', true, true), null);
    assert.equal(chooseCoding('*;q=0.3, br;q=0', true, true), 'gzip');
    assert.equal(chooseCoding('x-gzip', true, true), 'gzip');
    assert.equal(chooseCoding('identity', true, true), null);
    assert.equal(chooseCoding('', true, true), null);
    assert.equal(chooseCoding('br;q=abc, gzip', true, true), 'gzip');
    assert.equal(chooseCoding('br ; Q=0.8 , gzip;q=0.7', true, true), 'br');
    assert.deepEqual(acceptedCodings('gzip;q=1.5'), { br: 0, gzip: 0 });
  });
});

for (const engine of ENGINES) {
  describe(`compression of proxied responses (${engine})`, () => {
    let upstream: TestUpstream;
    let raw: RawUpstream;
    let front: TestFront;
    let rawFront: TestFront;
    let offFront: TestFront;
    let staticFront: TestFront;
    let dir: string;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'front-gzip-'));
      writeFileSync(join(dir, 'data.json'), JSON_BODY);
      writeFileSync(join(dir, 'image.png'), Buffer.alloc(5000, 1));
      staticFront = await startTestFront(engine, { static: `/static/=${dir}` });
      upstream = await startUpstream((seen, _req, res) => {
        const send = (status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}) => {
          res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...extra });
          res.end(body);
        };
        switch (seen.url) {
          case '/json':
            return send(200, 'application/json; charset=utf-8', JSON_BODY, { ETag: '"v7"', Vary: 'Cookie', 'Accept-Ranges': 'bytes' });
          case '/small':
            return send(200, 'application/json', '{"ok":true}');
          case '/png':
            return send(200, 'image/png', Buffer.alloc(5000, 7));
          case '/encoded':
            return send(200, 'text/plain', gzipSync(JSON_BODY), { 'Content-Encoding': 'gzip' });
          case '/no-transform':
            return send(200, 'text/plain', JSON_BODY, { 'Cache-Control': 'no-transform' });
          case '/teapot':
            return send(500, 'text/plain', JSON_BODY);
          case '/big': {
            res.writeHead(200, { 'Content-Type': 'text/plain' }); // chunked, streamed
            for (let at = 0; at < BIG_TEXT.length; at += 200_000) res.write(BIG_TEXT.subarray(at, at + 200_000));
            return res.end();
          }
          default:
            return send(200, 'text/plain', JSON_BODY);
        }
      });
      raw = await startRawUpstream((_head, socket) => {
        // Announces 200 000 bytes, sends 100 000, then dies.
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 200000\r\n\r\n');
        socket.write(BIG_TEXT.subarray(0, 100_000));
        setTimeout(() => socket.destroy(), 50);
      });
      front = await startTestFront(engine, { upstream: upstream.address });
      rawFront = await startTestFront(engine, { upstream: raw.address });
      offFront = await startTestFront(engine, { upstream: upstream.address, compress: 'off' });
    });
    after(async () => {
      await front?.close();
      await rawFront?.close();
      await offFront?.close();
      await staticFront?.close();
      rmSync(dir, { recursive: true, force: true });
      await upstream?.close();
      await raw?.close();
    });

    it('compresses a JSON response with the coding the client prefers, with Vary and a weak ETag', async () => {
      for (const [accept, coding] of [
        ['gzip, deflate, br', 'br'],
        ['gzip', 'gzip'],
        ['br;q=0.4, gzip;q=0.8', 'gzip'],
      ] as const) {
        const reply = await request(front.port, '/json', { headers: { 'Accept-Encoding': accept } });
        assert.equal(reply.status, 200);
        assert.equal(reply.headers['content-encoding'], coding, accept);
        assert.equal(reply.headers.vary, 'Cookie, Accept-Encoding');
        assert.equal(reply.headers.etag, 'W/"v7"');
        assert.equal(reply.headers['accept-ranges'], undefined);
        assert.ok(reply.body.length < JSON_BODY.length / 3);
        assert.equal(Number(reply.headers['content-length']), reply.body.length);
        assert.equal(decode(coding, reply.body).toString(), JSON_BODY);
      }
    });

    it('sends identity (still with Vary) to clients that accept no coding', async () => {
      for (const headers of [{}, { 'Accept-Encoding': 'gzip;q=0, br;q=0' }, { 'Accept-Encoding': 'identity' }] as Record<string, string>[]) {
        const reply = await request(front.port, '/json', { headers });
        assert.equal(reply.headers['content-encoding'], undefined);
        assert.equal(reply.headers.vary, 'Cookie, Accept-Encoding');
        assert.equal(reply.headers.etag, '"v7"');
        assert.equal(reply.text, JSON_BODY);
      }
    });

    it('leaves small, unlisted, already encoded, no-transform, HEAD, Range and error responses alone', async () => {
      const gz = { 'Accept-Encoding': 'gzip, br' };
      const small = await request(front.port, '/small', { headers: gz });
      assert.equal(small.headers['content-encoding'], undefined);
      assert.equal(small.headers.vary, undefined);
      assert.equal((await request(front.port, '/png', { headers: gz })).headers['content-encoding'], undefined);
      const encoded = await request(front.port, '/encoded', { headers: gz });
      assert.equal(encoded.headers['content-encoding'], 'gzip');
      assert.equal(gunzipSync(encoded.body).toString(), JSON_BODY); // passed through, not compressed twice
      assert.equal((await request(front.port, '/no-transform', { headers: gz })).headers['content-encoding'], undefined);
      assert.equal((await request(front.port, '/teapot', { headers: gz })).headers['content-encoding'], undefined);
      const head = await request(front.port, '/json', { method: 'HEAD', headers: gz });
      assert.equal(head.headers['content-encoding'], undefined);
      assert.equal(head.headers['content-length'], String(JSON_BODY.length));
      const ranged = await request(front.port, '/json', { headers: { ...gz, Range: 'bytes=0-9' } });
      assert.equal(ranged.headers['content-encoding'], undefined);
      const off = await request(offFront.port, '/json', { headers: gz });
      assert.equal(off.headers['content-encoding'], undefined);
      assert.equal(off.headers.vary, 'Cookie');
    });

    it('compresses a large streamed response whole', async () => {
      for (const coding of ['gzip', 'br']) {
        const reply = await fetchWhole(front.port, '/big', { 'Accept-Encoding': coding });
        assert.equal(reply.complete, true);
        assert.equal(reply.headers['content-encoding'], coding);
        assert.equal(reply.headers['content-length'], undefined);
        assert.ok(decode(coding, reply.body).equals(BIG_TEXT), coding);
      }
    });

    it('compresses a static file without a sibling once, into the cache', async () => {
      const first = await request(staticFront.port, '/static/data.json', { headers: { 'Accept-Encoding': 'gzip' } });
      assert.equal(first.headers['content-encoding'], 'gzip');
      assert.equal(first.headers.vary, 'Accept-Encoding');
      assert.equal(gunzipSync(first.body).toString(), JSON_BODY);
      const again = await request(staticFront.port, '/static/data.json', { headers: { 'Accept-Encoding': 'gzip' } });
      assert.equal(again.headers.etag, first.headers.etag);
      assert.ok(again.body.equals(first.body));
      const br = await request(staticFront.port, '/static/data.json', { headers: { 'Accept-Encoding': 'br, gzip' } });
      assert.equal(br.headers['content-encoding'], 'br');
      assert.equal(brotliDecompressSync(br.body).toString(), JSON_BODY);
      assert.notEqual(br.headers.etag, first.headers.etag);
      const plain = await request(staticFront.port, '/static/data.json');
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.equal(plain.headers.vary, 'Accept-Encoding');
      assert.equal(plain.text, JSON_BODY);
      const notModified = await request(staticFront.port, '/static/data.json', { headers: { 'Accept-Encoding': 'gzip', 'If-None-Match': String(first.headers.etag) } });
      assert.equal(notModified.status, 304);
      const png = await request(staticFront.port, '/static/image.png', { headers: { 'Accept-Encoding': 'gzip' } });
      assert.equal(png.headers['content-encoding'], undefined);
      assert.equal(png.headers.vary, undefined);
    });

    it('cuts the connection when the upstream body ends early, never finishing the compressed stream', async () => {
      for (const coding of ['gzip', 'br']) {
        const reply = await fetchWhole(rawFront.port, '/cut', { 'Accept-Encoding': coding });
        assert.equal(reply.complete, false, coding);
        assert.throws(() => decode(coding, reply.body), coding); // no valid trailer was sent
      }
      assert.equal((await request(front.port, '/json')).status, 200);
    });
  });
}
