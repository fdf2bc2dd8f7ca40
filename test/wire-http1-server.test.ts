/**
 * wire/http1's server on its own, without the front: what a handler sees and what the wire
 * guarantees whatever the handler does — a handler that throws costs its client a 500 and
 * nothing else, responses leave in request order even when answered out of order, and a streamed
 * body is chunked for HTTP/1.1 and close-delimited for HTTP/1.0.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Http1Connection } from '../wire/http1/connection.ts';
import { Http1Server } from '../wire/http1/server.ts';
import type { Http1Response } from '../wire/http1/response.ts';
import { RawConnection } from './fixtures/raw-http.ts';

const SETTINGS = {
  maxHeaderSize: 16 * 1024,
  maxRequestLine: 8190,
  maxHeaderFields: 100,
  maxBodySize: 1024,
  headerTimeoutMs: 5000,
  bodyTimeoutMs: 5000,
  keepAliveTimeoutMs: 5000,
  sendTimeoutMs: 5000,
};

describe('wire/http1 server', () => {
  const errors: unknown[] = [];
  const server = new Http1Server(SETTINGS, {
    onRequest(head, body, res: Http1Response) {
      if (head.target === '/boom') throw new Error('handler bug');
      if (head.target.startsWith('/later/')) {
        setTimeout(() => res.send(200, '', [], Buffer.from(head.target)), Number(head.target.slice(7)));
        return;
      }
      if (head.target.startsWith('/big/')) {
        // Large enough that the requests pipelined behind it wait for a later turn (connection.ts).
        res.send(200, '', ['Content-Type', 'text/plain'], Buffer.alloc(100 * 1024, head.target.slice(5)));
        return;
      }
      if (head.target === '/echo') {
        res.send(200, '', ['Content-Type', 'application/octet-stream'], body ?? Buffer.alloc(0));
        return;
      }
      if (head.target === '/stream') {
        res.start(200, '', ['Content-Type', 'text/plain'], -1);
        res.write(Buffer.from('ab'));
        setTimeout(() => {
          res.write(Buffer.from('cd'));
          res.end();
        }, 20);
        return;
      }
      res.send(200, '', ['Content-Type', 'text/plain'], Buffer.from(`${head.method} ${head.target} ${body?.length ?? 0}`));
    },
    onRefused: () => '',
    onError: (error) => errors.push(error),
  });
  let port = 0;
  before(async () => {
    port = await server.listen('127.0.0.1', 0);
  });
  after(() => {
    server.stopAccepting();
    server.closeAll();
  });

  it('answers 500 when the handler throws, logs it, and keeps serving', async () => {
    const connection = await RawConnection.open(port);
    try {
      connection.send('GET /boom HTTP/1.1\r\nHost: t\r\n\r\n');
      const [reply] = await connection.responses(1);
      assert.equal(reply?.status, 500);
      assert.equal(reply!.headers['connection'], 'close');
      assert.equal(errors.length, 1);
    } finally {
      connection.close();
    }
    const again = await RawConnection.open(port);
    try {
      again.send('GET /fine HTTP/1.1\r\nHost: t\r\n\r\n');
      assert.equal((await again.responses(1))[0]?.body, 'GET /fine 0');
    } finally {
      again.close();
    }
  });

  it('keeps responses in request order when the handler answers the first one last', async () => {
    const connection = await RawConnection.open(port);
    try {
      connection.send('GET /later/200 HTTP/1.1\r\nHost: t\r\n\r\nGET /later/1 HTTP/1.1\r\nHost: t\r\n\r\nPOST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc');
      const replies = await connection.responses(3);
      assert.deepEqual(replies.map((r) => r.body), ['/later/200', '/later/1', 'POST /x 3']);
    } finally {
      connection.close();
    }
  });

  it('answers requests pipelined behind large responses, complete and in order, in later turns', async () => {
    const connection = await RawConnection.open(port);
    try {
      connection.send(['a', 'b', 'c'].map((c) => `GET /big/${c} HTTP/1.1\r\nHost: t\r\n\r\n`).join('') + 'GET /small HTTP/1.1\r\nHost: t\r\n\r\n');
      const replies = await connection.responses(4);
      assert.deepEqual(replies.map((r) => r.body.length), [102400, 102400, 102400, 12]);
      assert.deepEqual(replies.map((r) => r.body[0]), ['a', 'b', 'c', 'G']);
    } finally {
      connection.close();
    }
  });

  it('reads heads and bodies sent a byte at a time, sized and chunked, with a request pipelined behind', async () => {
    const connection = await RawConnection.open(port);
    try {
      const sized = 'x'.repeat(40) + 'y'.repeat(40);
      const stream =
        `POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: ${sized.length}\r\n\r\n${sized}` +
        'POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n' +
        'GET /after HTTP/1.1\r\nHost: t\r\n\r\n';
      for (const byte of stream) {
        connection.send(byte);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const replies = await connection.responses(3);
      assert.deepEqual(replies.map((r) => r.body), [sized, 'abcde', 'GET /after 0']);
    } finally {
      connection.close();
    }
  });

  it('reads a client that trickles its request in batches, not once per byte', async () => {
    // Count the reads the connection handles (onData runs once per read, shared buffer or not).
    const proto = Http1Connection.prototype as unknown as { onData(chunk: Buffer): void };
    const original = proto.onData;
    let reads = 0;
    proto.onData = function (this: unknown, chunk: Buffer) {
      reads++;
      return original.call(this, chunk);
    };
    const connection = await RawConnection.open(port);
    try {
      connection.socket.setNoDelay(true);
      const head = `GET /trickled HTTP/1.1\r\nHost: t\r\nX-Padding: ${'p'.repeat(100)}\r\n\r\n`;
      for (const byte of head) {
        connection.send(byte);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      const [reply] = await connection.responses(1);
      assert.equal(reply?.body, 'GET /trickled 0');
      // One read per byte would be ~140; read every 100 ms once it trickles, a few dozen at most.
      assert.ok(reads < head.length / 2, `${reads} reads for ${head.length} bytes sent one by one`);
    } finally {
      proto.onData = original;
      connection.close();
    }
  });

  it('chunks a streamed body for HTTP/1.1 and closes after it for HTTP/1.0', async () => {
    const http11 = await RawConnection.open(port);
    const http10 = await RawConnection.open(port);
    try {
      http11.send('GET /stream HTTP/1.1\r\nHost: t\r\n\r\n');
      const [chunked] = await http11.responses(1);
      assert.equal(chunked?.headers['transfer-encoding'], 'chunked');
      assert.equal(chunked!.body, 'abcd');
      http10.send('GET /stream HTTP/1.0\r\n\r\n');
      assert.equal(await http10.waitClosed(3000), true);
      assert.match(http10.received, /^HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: close\r\n\r\nabcd$/);
      assert.doesNotMatch(http10.received, /Transfer-Encoding/i);
    } finally {
      http11.close();
      http10.close();
    }
  });
});
