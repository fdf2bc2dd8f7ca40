/**
 * X-Request-Id on every response from the front, on both engines: proxied answers, static files,
 * the front's own errors and refusals, the proxy's 502; the same id upstream; a trusted client's
 * own id kept, anyone else's replaced.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ENGINES, rawRequest, request, startTestFront, startUpstream } from './proxy-harness.ts';
import type { TestFront, TestUpstream } from './proxy-harness.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

for (const engine of ENGINES) {
  describe(`request ids (${engine})`, () => {
    let upstream: TestUpstream;
    let front: TestFront;
    let trusted: TestFront;
    let deadFront: TestFront;
    let dir: string;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'front-rid-'));
      writeFileSync(join(dir, 'a.txt'), 'static');
      upstream = await startUpstream();
      front = await startTestFront(engine, { upstream: upstream.address, static: `/static/=${dir}` });
      trusted = await startTestFront(engine, { upstream: upstream.address, static: `/static/=${dir}`, trusted: ['127.0.0.1'] });
      deadFront = await startTestFront(engine, { upstream: '127.0.0.1:9' });
    });
    after(async () => {
      await front?.close();
      await trusted?.close();
      await deadFront?.close();
      await upstream?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('tags proxied responses with the id the upstream received', async () => {
      const reply = await request(front.port, '/api/x', { headers: { 'X-Request-Id': 'client-chosen' } });
      const id = String(reply.headers['x-request-id']);
      assert.match(id, UUID); // an untrusted client's id is replaced
      assert.equal(upstream.requests.at(-1)!.headers['x-request-id'], id);
    });

    it('tags static files, the front\'s own errors and the proxy\'s 502 with a fresh id', async () => {
      const ids = new Set<string>();
      for (const [port, path, status] of [
        [front.port, '/static/a.txt', 200],
        [front.port, '/static/missing', 404],
        [front.port, '/static', 301],
        [deadFront.port, '/api/x', 502],
      ] as const) {
        const reply = await request(port, path);
        assert.equal(reply.status, status, path);
        assert.match(String(reply.headers['x-request-id']), UUID, path);
        ids.add(String(reply.headers['x-request-id']));
      }
      assert.equal(ids.size, 4);
      const refused = await rawRequest(front.port, 'POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n\r\n');
      assert.equal(refused.status, 413);
      assert.match(refused.text, /\r\nX-Request-Id: [0-9a-f-]{36}\r\n/i);
    });

    it('keeps a trusted client\'s own id on both sides', async () => {
      const reply = await request(trusted.port, '/api/y', { headers: { 'X-Request-Id': 'lb-42.a' } });
      assert.equal(reply.headers['x-request-id'], 'lb-42.a');
      assert.equal(upstream.requests.at(-1)!.headers['x-request-id'], 'lb-42.a');
      const file = await request(trusted.port, '/static/a.txt', { headers: { 'X-Request-Id': 'lb-43.b' } });
      assert.equal(file.headers['x-request-id'], 'lb-43.b');
      const junk = await request(trusted.port, '/api/y', { headers: { 'X-Request-Id': 'no spaces allowed' } });
      assert.match(String(junk.headers['x-request-id']), UUID);
    });
  });
}
