/**
 * Slow and departing clients: the header timeout (408, node:http engine; uWS has a fixed 10 s
 * one), the body timeout between reads (408, both engines), and graceful shutdown in-process on
 * both engines: in-flight requests finish, new connections are refused.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { ENGINES, eventually, rawRequest, request, startTestFront, startUpstream } from './proxy-harness.ts';

describe('slow clients', () => {
  it('408 and close when the request head does not arrive in time (http engine)', async (t) => {
    const upstream = await startUpstream();
    const front = await startTestFront('http', { upstream: [upstream.address], 'header-timeout': '200ms' });
    t.after(async () => {
      await front.close();
      await upstream.close();
    });
    const reply = await rawRequest(front.port, 'GET /api/ping/ HTTP/1.1\r\nHost: t\r\nX-Slow: ', 1500);
    assert.equal(reply.status, 408);
    assert.ok(reply.closed);
    assert.equal(upstream.requests.length, 0);
  });

  for (const engine of ENGINES) {
    it(`408 and close when the body stalls between reads (${engine})`, async (t) => {
      const upstream = await startUpstream();
      const front = await startTestFront(engine, { upstream: [upstream.address], 'body-timeout': '200ms' });
      t.after(async () => {
        await front.close();
        await upstream.close();
      });
      const reply = await rawRequest(front.port, 'POST /api/x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc', 1500);
      assert.equal(reply.status, 408);
      assert.match(reply.text, /no body data for 200 ms/);
      assert.ok(reply.closed);
      assert.equal(upstream.requests.length, 0);
      await eventually(() => front.front.core.inFlight === 0);
    });
  }
});

describe('graceful shutdown in-process', () => {
  for (const engine of ENGINES) {
    it(`finishes in-flight requests, then stops (${engine})`, async (t) => {
      const upstream = await startUpstream((_seen, _req, res) => setTimeout(() => res.end('finished'), 300));
      const front = await startTestFront(engine, { upstream: [upstream.address] });
      t.after(async () => {
        await front.close();
        await upstream.close();
      });
      const inFlight = request(front.port, '/api/slow/');
      await eventually(() => upstream.requests.length === 1, 2000, 'the request upstream');
      const closing = front.front.close(5000);
      const refused = await new Promise<boolean>((resolve) => {
        const socket = net.connect(front.port, '127.0.0.1');
        socket.on('connect', () => {
          socket.destroy();
          resolve(false);
        });
        socket.on('error', () => resolve(true));
      });
      assert.ok(refused, 'no new connections while draining');
      const reply = await inFlight;
      assert.equal(reply.status, 200);
      assert.equal(reply.text, 'finished');
      await closing;
      assert.equal(front.front.core.inFlight, 0);
    });
  }
});
