/**
 * Resilience case 5, upstream faults, against the front alone (compiled, as `npm start` runs it)
 * on both of its client-side engines, with upstreams that fail on purpose:
 *   - the app server is down (nothing listens): 502 at once, well within the connect timeout;
 *   - the app server accepts and never answers: 504 at the read timeout;
 *   - the app server resets mid-response: the client's connection is closed with fewer bytes than
 *     the response announced (Content-Length) or without the last chunk — never a response that
 *     looks complete.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Cleanup, FRONT_ENGINES, record, startLayer, waitListening, type Spawned } from './harness.ts';
import { freePort } from '../support/net.ts';

const CONNECT_TIMEOUT_S = 3;
const READ_TIMEOUT_S = 2;

/** A fake app server: `behave` gets each connection once a request head has arrived. */
async function fakeUpstream(cleanup: Cleanup, behave: (socket: Socket) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      behave(socket);
    };
    socket.on('data', onData);
  });
  cleanup.add(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** One raw GET (Connection: close) over a new connection; everything received until the front closes it (or 20 s), and when the first byte came. */
function rawGet(port: number, path: string): Promise<{ text: string; bytes: Buffer; ms: number; closed: boolean }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1');
    let firstByte = -1;
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      const bytes = Buffer.concat(chunks);
      resolve({ text: bytes.toString('latin1'), bytes, ms: firstByte, closed });
    };
    const timer = setTimeout(() => done(false), 20_000);
    socket.on('data', (chunk) => {
      if (firstByte < 0) firstByte = Date.now() - started;
      chunks.push(chunk);
    });
    socket.on('close', () => done(true));
    socket.on('error', () => {});
    socket.write(`GET ${path} HTTP/1.1\r\nHost: resilience\r\nConnection: close\r\n\r\n`);
  });
}

for (const engine of FRONT_ENGINES) {
  describe(`5. upstream faults, front engine ${engine}`, () => {
    const cleanup = new Cleanup();
    after(() => cleanup.run());
    let front: Spawned;
    let frontPort = 0;
    let downPort = 0;
    let hangPort = 0;
    let resetPort = 0;
    let chunkResetPort = 0;

    before(async () => {
      downPort = await freePort(); // nothing listens there
      hangPort = await fakeUpstream(cleanup, () => {});
      resetPort = await fakeUpstream(cleanup, (socket) => {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(1000)}`);
        setTimeout(() => socket.resetAndDestroy(), 100);
      });
      chunkResetPort = await fakeUpstream(cleanup, (socket) => {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n${'3e8\r\n' + 'y'.repeat(1000) + '\r\n'}`);
        setTimeout(() => socket.resetAndDestroy(), 100);
      });
    });

    // The front sends everything it proxies to one upstream list, so each fault gets its own front.

    async function frontFor(upstreamPort: number): Promise<number> {
      const port = await freePort();
      front = await startLayer(cleanup.add, 'proxy/cli.js', [
        '--listen', `127.0.0.1:${port}`,
        '--upstream', `127.0.0.1:${upstreamPort}`,
        '--front-engine', engine,
        '--connect-timeout', `${CONNECT_TIMEOUT_S}s`,
        '--read-timeout', `${READ_TIMEOUT_S}s`,
        '--access-log', 'off',
      ]);
      await waitListening(port);
      return port;
    }

    it('app server down: 502 within the connect timeout, and the front keeps serving', async () => {
      frontPort = await frontFor(downPort);
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await rawGet(frontPort, '/api/ping/'));
      record('5 upstream down', { engine, status: answers[0]!.text.slice(9, 12), msMax: Math.max(...answers.map((a) => a.ms)) });
      for (const answer of answers) {
        assert.match(answer.text, /^HTTP\/1\.1 502 /, answer.text);
        assert.ok(answer.ms < CONNECT_TIMEOUT_S * 1000, `answered after ${answer.ms} ms`);
      }
      assert.equal(front.child.exitCode, null, 'the front is still running');
    });

    it('app server hangs: 504 at the read timeout', async () => {
      frontPort = await frontFor(hangPort);
      const answer = await rawGet(frontPort, '/api/ping/');
      record('5 upstream hangs', { engine, status: answer.text.slice(9, 12), ms: answer.ms });
      assert.match(answer.text, /^HTTP\/1\.1 504 /, answer.text);
      assert.ok(answer.ms >= READ_TIMEOUT_S * 1000 - 100, `answered after ${answer.ms} ms, before the read timeout`);
      assert.ok(answer.ms < READ_TIMEOUT_S * 1000 + 10_000, `answered after ${answer.ms} ms`);
    });

    it('app server resets mid-response (Content-Length): the client connection closes short', async () => {
      frontPort = await frontFor(resetPort);
      const answer = await rawGet(frontPort, '/download');
      const split = answer.bytes.indexOf('\r\n\r\n');
      const head = answer.bytes.subarray(0, split).toString('latin1');
      const body = answer.bytes.subarray(split + 4);
      const announced = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
      record('5 upstream resets (length)', { engine, announced, received: body.length, closed: answer.closed });
      assert.ok(answer.closed, 'the front closed the client connection');
      assert.match(head, /^HTTP\/1\.1 200 /);
      assert.equal(announced, 100000, head);
      assert.ok(body.length < announced, `received ${body.length} of ${announced} bytes`);
    });

    it('app server resets mid-response (chunked): the client connection closes without the last chunk', async () => {
      frontPort = await frontFor(chunkResetPort);
      const answer = await rawGet(frontPort, '/stream');
      record('5 upstream resets (chunked)', { engine, received: answer.bytes.length, closed: answer.closed });
      assert.ok(answer.closed, 'the front closed the client connection');
      assert.match(answer.text, /^HTTP\/1\.1 200 /);
      assert.match(answer.text, /transfer-encoding: chunked/i);
      assert.doesNotMatch(answer.text, /\r\n0\r\n\r\n$/, 'no terminating chunk: the response must not look complete');
    });
  });
}
