/**
 * Issue 14, defect 9: a client must not be able to take upstreams out of rotation.
 *   - Each layer's limits sit inside the next one's: a request with more header fields than the
 *     app server reads is refused by the front with 431 and never reaches an upstream.
 *   - A request that fails on its own (the upstream hangs on it until the read timeout) while the
 *     upstream keeps answering everyone else is not held against the upstream: with two
 *     upstreams and max-fails 1, weird requests to both leave every ordinary request served.
 *   - An upstream that answers nothing at all is still taken out, as before.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ENGINES, rawRequest, request, startRawUpstream, startTestFront } from './proxy-harness.ts';
import type { RawUpstream } from './proxy-harness.ts';

/** An upstream that answers everything at once except /api/weird/, which it never answers. */
function answeringUpstream(): Promise<RawUpstream> {
  return startRawUpstream((head, socket) => {
    if (head.startsWith('GET /api/weird/')) return;
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
}

for (const engine of ENGINES) {
  describe(`upstream ejection is not a client's weapon (${engine})`, () => {
    it('refuses with 431 the header fields an app server could not read, before any upstream', async (t) => {
      const upstream = await answeringUpstream();
      const front = await startTestFront(engine, { upstream: [upstream.address] });
      t.after(async () => {
        await front.close();
        await upstream.close();
      });
      const limit = front.front.core.settings.client.maxHeaderFields;
      const fields = Array.from({ length: limit + 1 }, (_, i) => `X-Field-${i}: v\r\n`).join('');
      const reply = await rawRequest(front.port, `GET /api/many/ HTTP/1.1\r\nHost: t\r\n${fields.slice(`X-Field-0: v\r\n`.length)}\r\n`);
      assert.equal(reply.status, 431, reply.text.split('\r\n')[0]);
      assert.equal(upstream.heads.length, 0);
      // At the limit (Host and Connection included) it goes through, with the front's own fields added.
      const atLimit = Array.from({ length: limit - 2 }, (_, i) => `X-Field-${i}: v\r\n`).join('');
      assert.equal((await rawRequest(front.port, `GET /api/many/ HTTP/1.1\r\nHost: t\r\n${atLimit}Connection: close\r\n\r\n`)).status, 200);
      assert.equal(upstream.heads.length, 1);
    });

    it('keeps both upstreams in rotation while weird requests time out on each', async (t) => {
      const a = await answeringUpstream();
      const b = await answeringUpstream();
      const front = await startTestFront(engine, { upstream: [a.address, b.address], 'read-timeout': '1s', 'max-fails': 1, 'fail-timeout': '10s' });
      t.after(async () => {
        await front.close();
        await a.close();
        await b.close();
      });
      const weird = Array.from({ length: 4 }, () => request(front.port, '/api/weird/'));
      const statuses: number[] = [];
      const until = Date.now() + 2500;
      while (Date.now() < until) {
        statuses.push((await request(front.port, '/api/ping/')).status);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const weirdStatuses = (await Promise.all(weird)).map((r) => r.status);
      assert.deepEqual(weirdStatuses, [504, 504, 504, 504]);
      assert.deepEqual([...new Set(statuses)], [200], `ordinary requests: ${statuses.filter((s) => s !== 200).length} of ${statuses.length} failed`);
      assert.deepEqual(front.front.core.proxy!.stats().map((s) => s.available), [true, true]);
      assert.ok(a.heads.some((h) => h.startsWith('GET /api/weird/')) && b.heads.some((h) => h.startsWith('GET /api/weird/')), 'the weird requests reached both');
    });

    it('still takes out an upstream that answers nothing at all', async (t) => {
      const silent = await startRawUpstream(() => {});
      const good = await answeringUpstream();
      const front = await startTestFront(engine, { upstream: [silent.address, good.address], 'read-timeout': '500ms', 'max-fails': 1, 'fail-timeout': '10s' });
      t.after(async () => {
        await front.close();
        await silent.close();
        await good.close();
      });
      const first = await Promise.all([request(front.port, '/api/one/'), request(front.port, '/api/two/')]);
      assert.deepEqual(first.map((r) => r.status).sort(), [200, 504]);
      assert.deepEqual(front.front.core.proxy!.stats().map((s) => s.available), [false, true]);
      for (let i = 0; i < 4; i++) assert.equal((await request(front.port, '/api/after/')).status, 200);
    });
  });
}
