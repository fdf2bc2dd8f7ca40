/**
 * Http1Response.sendPrepared against send: a response serialized once (PreparedResponse) must
 * leave the server as exactly the bytes `send` writes for the same status, fields and body —
 * for GET and HEAD, HTTP/1.1 and HTTP/1.0 (with and without keep-alive), `Connection: close`,
 * pipelined requests, a body too large to copy, and a server that is draining — and the
 * connection must stay open or close as it does after `send`.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Http1Server } from '../wire/http1/server.ts';
import { PreparedField, PreparedResponse } from '../wire/http1/prepared-response.ts';
import type { Http1Response } from '../wire/http1/response.ts';
import type { RequestHead } from '../wire/http1/request-head.ts';
import { TEST_HTTP1_SETTINGS } from './fixtures/http1-settings.ts';

const SETTINGS = TEST_HTTP1_SETTINGS;

const FIELDS = ['Content-Type', 'text/plain; charset=utf-8', 'ETag', '"1-2"', 'Last-Modified', 'Mon, 30 Nov 2026 10:00:00 GMT', 'Accept-Ranges', 'bytes'];
const SMALL = Buffer.from('x'.repeat(1000) + '\n');
// Past the size copied into one buffer with the head (response.ts COPY_LIMIT): head and body go out corked.
const LARGE = Buffer.alloc(100 * 1024, 'y');
const PREPARED_SMALL = new PreparedResponse(200, FIELDS, SMALL);
const PREPARED_LARGE = new PreparedResponse(200, FIELDS, LARGE);
const ID_FIELD = new PreparedField('X-Request-Id');
// Per-request fields, obs-text included: both ways write latin1.
const MORE = ['Strict-Transport-Security', 'max-age=60', 'X-Note', 'caf\u00e9'];

/** /p/…: sendPrepared; /s/…: send with the same fields; …/large: the large body. */
function answer(head: RequestHead, res: Http1Response): void {
  const large = head.target.endsWith('/large');
  const id = 'id-' + head.target.length;
  if (head.target.startsWith('/p/')) res.sendPrepared(large ? PREPARED_LARGE : PREPARED_SMALL, ID_FIELD, id, MORE);
  else res.send(200, '', [...FIELDS, 'X-Request-Id', id, ...MORE], large ? LARGE : SMALL);
}

/** Send `data`, collect what comes back until the server closes or `quietMs` pass without bytes after the first. */
function exchange(port: number, data: string, quietMs = 300): Promise<{ bytes: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | null = null;
    const finish = (closed: boolean): void => {
      if (timer !== null) clearTimeout(timer);
      socket.destroy();
      resolve({ bytes: Buffer.concat(chunks).toString('latin1').replace(/\r\nDate: [^\r]*\r\n/g, '\r\nDate: -\r\n'), closed });
    };
    socket.on('connect', () => socket.write(data, 'latin1'));
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => finish(false), quietMs);
    });
    socket.on('end', () => finish(true));
    socket.on('error', reject);
  });
}

describe('wire/http1 prepared responses', () => {
  let server: Http1Server;
  let port = 0;
  before(async () => {
    server = new Http1Server(SETTINGS, { onRequest: (head, _body, res) => answer(head, res), onRefused: () => '' }, null);
    port = await server.listen('127.0.0.1', 0);
  });
  after(() => {
    server.stopAccepting();
    server.closeAll();
  });

  /** The same requests to /p/ and /s/ give the same bytes and the same connection fate. */
  async function same(requests: (prefix: string) => string, expectClosed: boolean): Promise<string> {
    const prepared = await exchange(port, requests('/p/'));
    const plain = await exchange(port, requests('/s/'));
    assert.equal(prepared.bytes, plain.bytes);
    assert.equal(prepared.closed, expectClosed, 'prepared: connection fate');
    assert.equal(plain.closed, expectClosed, 'send: connection fate');
    return prepared.bytes;
  }

  it('GET over HTTP/1.1: the same bytes as send, the connection kept', async () => {
    const bytes = await same((p) => `GET ${p}a HTTP/1.1\r\nHost: x\r\n\r\n`, false);
    assert.match(bytes, /^HTTP\/1\.1 200 OK\r\nContent-Type: text\/plain; charset=utf-8\r\nETag: "1-2"\r\n/);
    assert.match(bytes, /\r\nX-Request-Id: id-4\r\nStrict-Transport-Security: max-age=60\r\nX-Note: caf\u00e9\r\nDate: -\r\nContent-Length: 1001\r\n\r\nxxx/);
    assert.ok(bytes.endsWith('x\n'));
  });

  it('HEAD: the GET head with its Content-Length, no body', async () => {
    const bytes = await same((p) => `HEAD ${p}a HTTP/1.1\r\nHost: x\r\n\r\n`, false);
    assert.ok(bytes.endsWith('Content-Length: 1001\r\n\r\n'));
  });

  it('HTTP/1.0: Connection: close and closed; with keep-alive asked: Connection: keep-alive and kept', async () => {
    const closing = await same((p) => `GET ${p}a HTTP/1.0\r\n\r\n`, true);
    assert.match(closing, /\r\nConnection: close\r\n\r\n/);
    const kept = await same((p) => `GET ${p}a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`, false);
    assert.match(kept, /\r\nConnection: keep-alive\r\n\r\n/);
  });

  it('Connection: close from an HTTP/1.1 client: Connection: close, then closed', async () => {
    const bytes = await same((p) => `HEAD ${p}a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, true);
    assert.ok(bytes.endsWith('Connection: close\r\n\r\n'));
  });

  it('pipelined requests, enough to span several output slabs: in order and intact', async () => {
    const requests = (p: string): string => {
      let out = '';
      for (let i = 0; i < 120; i++) out += `${i % 3 === 1 ? 'HEAD' : 'GET'} ${p}${'n'.repeat(i % 7)} HTTP/1.1\r\nHost: x\r\n\r\n`;
      return out;
    };
    const bytes = await same(requests, false);
    assert.equal(bytes.split('HTTP/1.1 200 OK\r\n').length - 1, 120);
  });

  it('a body past the copy limit goes out whole after its head', async () => {
    const bytes = await same((p) => `GET ${p}large HTTP/1.1\r\nHost: x\r\n\r\nGET ${p}a HTTP/1.1\r\nHost: x\r\n\r\n`, false);
    assert.ok(bytes.includes(`Content-Length: ${LARGE.length}\r\n\r\n${'y'.repeat(LARGE.length)}HTTP/1.1 200 OK`));
  });

  it('refuses a bodyless status', () => {
    assert.throws(() => new PreparedResponse(304, FIELDS, SMALL), RangeError);
  });
});

describe('wire/http1 prepared responses while draining', () => {
  it('carry Connection: close and the connection closes, as with send', async () => {
    const server = new Http1Server(SETTINGS, { onRequest: (head, _body, res) => answer(head, res), onRefused: () => '' }, null);
    try {
      const port = await server.listen('127.0.0.1', 0);
      // Each connection answers one request first, so the server holds it when the drain starts.
      const opened = await Promise.all(['/p/', '/s/'].map((prefix) => new Promise<{ prefix: string; socket: Socket }>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('error', reject);
        socket.once('data', () => resolve({ prefix, socket }));
        socket.write(`HEAD ${prefix}a HTTP/1.1\r\nHost: x\r\n\r\n`);
      })));
      server.stopListening();
      const results = await Promise.all(opened.map(({ prefix, socket }) => new Promise<string>((resolve, reject) => {
        const chunks: Buffer[] = [];
        socket.on('data', (chunk) => chunks.push(chunk));
        socket.on('end', () => {
          socket.destroy();
          resolve(Buffer.concat(chunks).toString('latin1').replace(/\r\nDate: [^\r]*\r\n/g, '\r\nDate: -\r\n'));
        });
        socket.on('error', reject);
        socket.write(`GET ${prefix}a HTTP/1.1\r\nHost: x\r\n\r\n`);
      })));
      assert.equal(results[0], results[1]);
      assert.match(results[0]!, /\r\nContent-Length: 1001\r\nConnection: close\r\n\r\n/);
    } finally {
      server.closeAll();
    }
  });
});
