/**
 * wire/http1's server on its own, without the front: what a handler sees and what the wire
 * guarantees whatever the handler does — a handler that throws costs its client a 500 and
 * nothing else, responses leave in request order even when answered out of order, and a streamed
 * body is chunked for HTTP/1.1 and close-delimited for HTTP/1.0. Over plain TCP and over TLS
 * (both read into the shared buffer: wire/http1/shared-read.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Http1Connection } from '../wire/http1/connection.ts';
import { Http1Server } from '../wire/http1/server.ts';
import { isSharedReadView, useSharedReads } from '../wire/http1/shared-read.ts';
import type { Http1Response } from '../wire/http1/response.ts';
import type { RequestHead } from '../wire/http1/request-head.ts';
import { readFileSync } from 'node:fs';
import { connect as netConnect, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { RawConnection } from './fixtures/raw-http.ts';
import { makeCertificate } from './support/certificates.ts';
import type { TestCertificate } from './support/certificates.ts';
import { TEST_HTTP1_SETTINGS } from './fixtures/http1-settings.ts';

const SETTINGS = TEST_HTTP1_SETTINGS;

for (const transport of ['plain', 'tls'] as const) describe(`wire/http1 server (${transport})`, () => {
  const errors: unknown[] = [];
  let certificate: TestCertificate | null = null;
  let server: Http1Server;
  const handler = {
    onRequest(head: RequestHead, body: Buffer | null, res: Http1Response) {
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
    onError: (error: unknown) => errors.push(error),
  };
  let port = 0;
  before(async () => {
    if (transport === 'tls') certificate = await makeCertificate();
    server = new Http1Server(SETTINGS, handler, certificate === null ? null : { cert: certificate.pem, key: readFileSync(certificate.key, 'latin1') });
    port = await server.listen('127.0.0.1', 0);
  });
  after(() => {
    server.stopAccepting();
    server.closeAll();
    certificate?.remove();
  });
  const open = (): Promise<RawConnection> => (certificate === null ? RawConnection.open(port) : RawConnection.openTls(port, certificate.pem));

  it('answers 500 when the handler throws, logs it, and keeps serving', async () => {
    const connection = await open();
    try {
      connection.send('GET /boom HTTP/1.1\r\nHost: t\r\n\r\n');
      const [reply] = await connection.responses(1);
      assert.equal(reply?.status, 500);
      assert.equal(reply!.headers['connection'], 'close');
      assert.equal(errors.length, 1);
    } finally {
      connection.close();
    }
    const again = await open();
    try {
      again.send('GET /fine HTTP/1.1\r\nHost: t\r\n\r\n');
      assert.equal((await again.responses(1))[0]?.body, 'GET /fine 0');
    } finally {
      again.close();
    }
  });

  it('keeps responses in request order when the handler answers the first one last', async () => {
    const connection = await open();
    try {
      connection.send('GET /later/200 HTTP/1.1\r\nHost: t\r\n\r\nGET /later/1 HTTP/1.1\r\nHost: t\r\n\r\nPOST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc');
      const replies = await connection.responses(3);
      assert.deepEqual(replies.map((r) => r.body), ['/later/200', '/later/1', 'POST /x 3']);
    } finally {
      connection.close();
    }
  });

  it('answers requests pipelined behind large responses, complete and in order, in later turns', async () => {
    const connection = await open();
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
    const connection = await open();
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
    const connection = await open();
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
      // Over TLS every byte sent alone is its own record, and node:tls hands each decrypted record
      // over as a read of its own, batched or not: only the answer is checked there.
      if (transport === 'plain') assert.ok(reads < head.length / 2, `${reads} reads for ${head.length} bytes sent one by one`);
    } finally {
      proto.onData = original;
      connection.close();
    }
  });

  it('chunks a streamed body for HTTP/1.1 and closes after it for HTTP/1.0', async () => {
    const http11 = await open();
    const http10 = await open();
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

/**
 * A server whose accepted sockets `useSharedReads` switches, and a client that writes `first` at
 * once and `second` 50 ms after it is connected (`connectEvent`): what the server read, in order,
 * and whether each read was a view of the shared buffer.
 */
async function readThroughSharedBuffer(
  createServer: (onSocket: (socket: Socket) => void) => Server,
  connect: (port: number) => Socket,
  connectEvent: 'connect' | 'secureConnect',
): Promise<{ switched: boolean | null; received: { text: string; shared: boolean }[] }> {
  const received: { text: string; shared: boolean }[] = [];
  let switched: boolean | null = null;
  const server = createServer((socket) => {
    switched = useSharedReads(socket, (bytes) => {
      received.push({ text: bytes.toString('latin1'), shared: isSharedReadView(bytes) });
      if (received.map((r) => r.text).join('') === 'firstsecond') socket.end();
      return true;
    });
  });
  try {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve, reject) => {
      const client = connect((server.address() as { port: number }).port);
      client.write('first');
      client.once(connectEvent, () => setTimeout(() => client.write('second'), 50));
      client.on('error', reject);
      client.resume();
      client.on('close', () => resolve());
    });
  } finally {
    server.close();
  }
  return { switched, received };
}

describe('wire/http1 shared reads', () => {
  it('switches a plain socket accepted paused to the shared buffer before its first read, losing nothing the client sent at once', async () => {
    // 'first' waits in the kernel: the server accepted the socket paused.
    const { switched, received } = await readThroughSharedBuffer(
      (onSocket) => createNetServer({ pauseOnConnect: true }, onSocket),
      (port) => netConnect(port, '127.0.0.1'),
      'connect',
    );
    assert.equal(switched, true, 'plain sockets read into the shared buffer (the fields onread uses were found)');
    assert.equal(received.map((r) => r.text).join(''), 'firstsecond');
    assert.ok(received.every((r) => r.shared), 'every read is a view of the shared buffer');
  });

  it('switches an established node:tls socket to the shared buffer on this Node, keeping what came with the handshake', async () => {
    const certificate = await makeCertificate();
    try {
      // 'first' is written before the handshake ends, so it may arrive with the client's last flight.
      const { switched, received } = await readThroughSharedBuffer(
        (onSocket) => createTlsServer({ cert: certificate.pem, key: readFileSync(certificate.key, 'latin1') }, onSocket),
        (port) => tlsConnect({ host: '127.0.0.1', port, ca: certificate.pem, servername: 'localhost' }),
        'secureConnect',
      );
      assert.equal(switched, true, 'node:tls sockets read into the shared buffer (the fields onread uses were found)');
      assert.equal(received.map((r) => r.text).join(''), 'firstsecond');
      assert.ok(received.some((r) => r.shared), 'reads after the switch are views of the shared buffer');
    } finally {
      certificate.remove();
    }
  });
});
