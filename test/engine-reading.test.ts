/**
 * How each app engine reads a connection, beyond what the one-shot corpus shows (for the node:http
 * engine this is the gate in wire/http1/node-http-gate.ts; the net engine is its model):
 *   - a client that pipelines many requests for large responses and reads slowly gets every
 *     response, whole and in order;
 *   - nothing is read behind a response that has to end the connection (a stream for HTTP/1.0);
 *   - a head that stops arriving gets 408 at the header timeout, and the connection closes;
 *   - a connection that sends nothing is closed at the header timeout without a word;
 *   - a graceful drain closes idle keep-alive connections, not one whose request is half-received.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { App } from '../app/interface.ts';
import { createEngine, ENGINE_NAMES, type Engine } from '../server/engines/engine.ts';
import { DEFAULT_LIMITS } from '../wire/limits.ts';
import { parseResponses, RawConnection } from './fixtures/raw-http.ts';

const LARGE = 'x'.repeat(200 * 1024);

async function* stream(): AsyncIterable<string> {
  yield 'streamed';
}

const app: App = (request) => ({
  status: 200,
  headers: { 'content-type': 'text/plain', 'x-target': request.target },
  body: request.target.startsWith('/large/') ? LARGE : request.target === '/stream' ? stream() : 'ok',
});

for (const name of ENGINE_NAMES) {
  describe(`reading a connection (${name} engine)`, () => {
    let engine: Engine | undefined;
    let port = 0;
    after(() => engine?.close());
    before(async () => {
      engine = await createEngine(name, app, { limits: { ...DEFAULT_LIMITS, headerTimeout: 1000 }, report: () => {} });
      const bound = await engine.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 });
      port = bound.kind === 'tcp' ? bound.port : 0;
    });

    it('answers 20 pipelined requests for 200 KB each, whole and in order, to a client that reads slowly', async () => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      const chunks: Buffer[] = [];
      let received = 0;
      const want = 20 * LARGE.length;
      const done = new Promise<void>((resolve, reject) => {
        socket.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          received += chunk.length;
          // Read a little, then stop a moment: the server's writes back up again and again.
          socket.pause();
          setTimeout(() => socket.resume(), 2);
          if (received >= want && parseResponses(Buffer.concat(chunks).toString('latin1')).responses.length === 20) resolve();
        });
        socket.on('error', reject);
        socket.on('close', () => resolve());
      });
      let requests = '';
      for (let i = 0; i < 20; i++) requests += `GET /large/${i} HTTP/1.1\r\nHost: t\r\n\r\n`;
      socket.write(requests);
      await done;
      socket.destroy();
      const { responses } = parseResponses(Buffer.concat(chunks).toString('latin1'));
      assert.equal(responses.length, 20);
      assert.deepEqual(responses.map((r) => r.headers['x-target']), Array.from({ length: 20 }, (_, i) => `/large/${i}`));
      for (const r of responses) assert.equal(r.body.length, LARGE.length);
    });

    it('reads nothing behind an HTTP/1.0 keep-alive request whose streamed answer has to end the connection', async () => {
      const connection = await RawConnection.open(port);
      try {
        connection.send('GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /next HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
        assert.equal(await connection.waitClosed(5000), true);
        assert.match(connection.received, /^HTTP\/1\.1 200 [^]*\r\n\r\nstreamed$/);
      } finally {
        connection.close();
      }
    });

    it('answers 408 to a head that stops arriving, then closes', async () => {
      const connection = await RawConnection.open(port);
      try {
        connection.send('GET /a HTTP/1.1\r\nHost: t\r\n');
        const [reply] = await connection.responses(1, [], 10_000);
        assert.equal(reply?.status, 408);
        assert.equal(await connection.waitClosed(5000), true);
      } finally {
        connection.close();
      }
    });

    it('closes a connection that sends nothing at the header timeout, without a word', async () => {
      const connection = await RawConnection.open(port);
      try {
        assert.equal(await connection.waitClosed(10_000), true);
        assert.equal(connection.received, '');
      } finally {
        connection.close();
      }
    });
  });
}

for (const name of ENGINE_NAMES) {
  it(`a drain closes idle connections but finishes reading a half-received request (${name} engine)`, async () => {
    const engine = await createEngine(name, app, { limits: DEFAULT_LIMITS, report: () => {} });
    after(() => engine.close());
    const bound = await engine.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 });
    const port = bound.kind === 'tcp' ? bound.port : 0;
    const idle = await RawConnection.open(port);
    const uploading = await RawConnection.open(port);
    try {
      for (const connection of [idle, uploading]) {
        connection.send('GET /first HTTP/1.1\r\nHost: t\r\n\r\n');
        assert.equal((await connection.responses(1))[0]?.status, 200);
      }
      uploading.send('POST /second HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc');
      const drained = engine.drain(10_000);
      // Past the drain's idle window (2 s): the idle connection is closed, the upload is not.
      assert.equal(await idle.waitClosed(8000), true);
      uploading.send('defghij');
      const [reply] = await uploading.responses(1, [], 8000);
      assert.equal(reply?.status, 200);
      assert.equal(reply?.headers['connection'], 'close');
      assert.equal(await drained, true);
    } finally {
      idle.close();
      uploading.close();
    }
  });
}
