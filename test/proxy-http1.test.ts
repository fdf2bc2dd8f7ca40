/**
 * HTTP as clients speak it, on every client-side engine (issue 13, item 0), for what the
 * one-shot corpus cannot show: answers to HEAD carry no body, a slow but steady upload is not
 * cut, a head that stops arriving gets 408, an idle keep-alive connection is closed quietly, and
 * pipelined requests come back in order even when the first is the slow one.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RawConnection } from './fixtures/raw-http.ts';
import { ENGINES, startTestFront, startUpstream } from './proxy-harness.ts';
import type { TestFront, TestUpstream } from './proxy-harness.ts';

const root = mkdtempSync(join(tmpdir(), 'front-http1-'));
mkdirSync(join(root, 'folder'));
writeFileSync(join(root, 'folder', 'a.txt'), 'a');
after(() => rmSync(root, { recursive: true, force: true }));

for (const engine of ENGINES) {
  describe(`HTTP/1.1 as clients speak it (${engine})`, () => {
    let upstream: TestUpstream;
    let front: TestFront;
    before(async () => {
      upstream = await startUpstream((seen, _req, res) => {
        const delay = seen.url.startsWith('/api/slow/') ? 300 : 0;
        setTimeout(() => {
          const body = `${seen.method} ${seen.url} ${seen.body.length}`;
          res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
          res.end(body);
        }, delay);
      });
      front = await startTestFront(engine, {
        upstream: [upstream.address],
        static: [`/files/=${root}`],
        'body-timeout': '1s',
        'header-timeout': '1s',
        'keep-alive-timeout': '1s',
      });
    });
    after(async () => {
      await front.close();
      await upstream.close();
    });

    it("answers HEAD to the front's own 301, 400, 403 and 404 without a body", async () => {
      const connection = await RawConnection.open(front.port);
      try {
        connection.send('HEAD /files/folder HTTP/1.1\r\nHost: t\r\n\r\nHEAD /files/folder/ HTTP/1.1\r\nHost: t\r\n\r\nHEAD /files/nothing HTTP/1.1\r\nHost: t\r\n\r\n');
        const replies = await connection.responses(3, [true, true, true]);
        assert.deepEqual(replies.map((r) => r.status), [301, 403, 404]);
        // Nothing after the three heads: a body would show up as bytes the parser left over.
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.equal(connection.received, '');
        connection.send('HEAD /files/%zz HTTP/1.1\r\nHost: t\r\n\r\n');
        const [bad] = await connection.responses(1, [true]);
        assert.equal(bad!.status, 400);
        assert.equal(await connection.waitClosed(2000), true);
        assert.equal(connection.received, '');
      } finally {
        connection.close();
      }
    });

    it('keeps reading an upload that trickles in slower than a read a second, but within the body timeout', async () => {
      const connection = await RawConnection.open(front.port);
      try {
        connection.send('POST /api/upload/ HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n');
        for (let i = 0; i < 10; i++) {
          await new Promise((resolve) => setTimeout(resolve, 250)); // 4 bytes/s for 2.5 s; the body timeout is 1 s between reads
          connection.send('x');
        }
        const [reply] = await connection.responses(1);
        assert.equal(reply?.status, 200);
        assert.equal(reply!.body, 'POST /api/upload/ 10');
      } finally {
        connection.close();
      }
    });

    it('answers 408 when a body stops arriving, and 408 when a head stops arriving', async () => {
      const body = await RawConnection.open(front.port);
      const head = await RawConnection.open(front.port);
      try {
        body.send('POST /api/upload/ HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc');
        head.send('GET /api/x HTTP/1.1\r\nHost: t\r\n');
        const [[bodyReply], [headReply]] = await Promise.all([body.responses(1, [], 8000), head.responses(1, [], 8000)]);
        assert.equal(bodyReply?.status, 408);
        assert.equal(headReply?.status, 408);
        assert.equal(await body.waitClosed(2000), true);
      } finally {
        body.close();
        head.close();
      }
    });

    it('closes an idle keep-alive connection after the keep-alive timeout, without a word', async () => {
      const connection = await RawConnection.open(front.port);
      try {
        connection.send('GET /api/ping/ HTTP/1.1\r\nHost: t\r\n\r\n');
        assert.equal((await connection.responses(1))[0]?.status, 200);
        assert.equal(await connection.waitClosed(8000), true);
        assert.equal(connection.received, '');
      } finally {
        connection.close();
      }
    });

    it('answers pipelined requests in order when the first is the slow one', async () => {
      const connection = await RawConnection.open(front.port);
      try {
        connection.send('GET /api/slow/1 HTTP/1.1\r\nHost: t\r\n\r\nGET /api/fast/2 HTTP/1.1\r\nHost: t\r\n\r\nGET /files/folder/a.txt HTTP/1.1\r\nHost: t\r\n\r\n');
        const replies = await connection.responses(3);
        assert.deepEqual(replies.map((r) => r.body), ['GET /api/slow/1 0', 'GET /api/fast/2 0', 'a']);
      } finally {
        connection.close();
      }
    });

    it('answers Expect: 100-continue with 100 before the body, then the response', async () => {
      const connection = await RawConnection.open(front.port);
      try {
        connection.send('POST /api/upload/ HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
        const until = Date.now() + 5000;
        while (!connection.received.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
        assert.match(connection.received, /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
        connection.send('hello');
        const until2 = Date.now() + 5000;
        while (!connection.received.includes('POST /api/upload/ 5') && Date.now() < until2) await new Promise((resolve) => setTimeout(resolve, 10));
        assert.match(connection.received, /HTTP\/1\.1 200 OK\r\n[\s\S]*POST \/api\/upload\/ 5$/);
      } finally {
        connection.close();
      }
    });

    it('serves an HTTP/1.0 client (ApacheBench) and closes after the response', async () => {
      const connection = await RawConnection.open(front.port);
      try {
        connection.send('GET /api/ping/ HTTP/1.0\r\nHost: t\r\nUser-Agent: ApacheBench/2.3\r\n\r\n');
        const [reply] = await connection.responses(1);
        assert.equal(reply?.status, 200);
        assert.equal(await connection.waitClosed(2000), true);
      } finally {
        connection.close();
      }
    });
  });
}

describe('a client that closes while its request is proxied (net)', () => {
  it('stops the work done for it', async (t) => {
    const upstream = await startUpstream((_seen, _req, res) => setTimeout(() => res.end('late'), 500));
    const front = await startTestFront('net', { upstream: [upstream.address] });
    t.after(async () => {
      await front.close();
      await upstream.close();
    });
    const socket = net.connect({ port: front.port, host: '127.0.0.1', allowHalfOpen: true });
    await new Promise((resolve) => socket.on('connect', resolve));
    socket.end('GET /api/slow/ HTTP/1.1\r\nHost: t\r\n\r\n');
    const closed = await new Promise<boolean>((resolve) => {
      socket.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 3000);
    });
    assert.equal(closed, true);
  });
});
