/**
 * What clients and apps throw at an engine, against every engine: responses the types forbid,
 * streams that fail, clients that stop reading or leave mid-body, too many header fields. Each
 * ends in a logged 500 or a closed connection, never a dead worker, and an ordinary client
 * departure is not reported as the app's error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEngine, ENGINE_NAMES, type Engine } from '../server/engines/engine.ts';
import { DEFAULT_LIMITS, type Limits } from '../wire/limits.ts';
import type { Request } from '../app/interface.ts';
import { app, SECRET, streams } from './fixtures/apps.ts';
import { get, PoolProcess } from './fixtures/pool.ts';
import { RawConnection, rawRequest } from './fixtures/raw-http.ts';

const GET = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: test\r\n${extra}\r\n`;

/** Routes whose response breaks the app interface in a way only JavaScript allows. */
const BROKEN = ['/bad-header-object', '/bad-header-null', '/bad-header-list', '/bad-headers', '/bad-body', '/bad-body-object', '/bad-file'];

interface InProcess {
  port: number;
  reported: unknown[];
  gone: Request[];
  engine: Engine;
}

async function host(name: (typeof ENGINE_NAMES)[number], limits: Partial<Limits> = {}): Promise<InProcess> {
  const reported: unknown[] = [];
  const gone: Request[] = [];
  const engine = await createEngine(name, app, {
    limits: { ...DEFAULT_LIMITS, ...limits },
    report: (error) => void reported.push(error),
    onClientGone: (request) => void gone.push(request),
  });
  const bound = await engine.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 });
  return { port: bound.kind === 'tcp' ? bound.port : 0, reported, gone, engine };
}

/** Wait (bounded) until `check` holds. */
async function eventually(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await sleep(50);
  return check();
}

for (const name of ENGINE_NAMES) {
  describe(`engine failures: ${name}, in-process`, () => {
    let server: InProcess;
    before(async () => {
      server = await host(name, { maxHeaderCount: 20, sendTimeout: 1000 });
    });
    after(() => server?.engine.close());

    for (const path of BROKEN) {
      it(`answers 500 to a response the interface forbids: ${path} (GET and HEAD)`, async () => {
        const before = server.reported.length;
        const res = await rawRequest(server.port, GET(path));
        assert.equal(res?.status, 500, `GET ${path}`);
        assert.ok(!res.body.includes(SECRET));
        const head = await rawRequest(server.port, `HEAD ${path} HTTP/1.1\r\nHost: test\r\n\r\n`, true);
        assert.equal(head?.status, 500, `HEAD ${path}`);
        assert.equal(server.reported.length, before + 2, 'each failure is reported');
      });
    }

    it('cuts the connection when a stream fails after its head was sent, and reports it', async () => {
      const before = server.reported.length;
      const connection = await RawConnection.open(server.port);
      try {
        connection.send(GET('/stream-throws'));
        assert.ok(await connection.waitClosed(10_000), 'connection closed');
        assert.match(connection.received, /^HTTP\/1\.1 200/);
        assert.ok(!connection.received.endsWith('0\r\n\r\n'), 'no terminating chunk: the response must not look complete');
      } finally {
        connection.close();
      }
      assert.ok(await eventually(() => server.reported.length > before, 5000));
      assert.equal((await rawRequest(server.port, GET('/ping')))?.status, 200);
    });

    it('refuses more header fields than the limit with 431, and accepts the limit', async () => {
      const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-F${i}: v\r\n`).join('');
      // Host is one of the fields.
      assert.equal((await rawRequest(server.port, GET('/ping', fields(19))))?.status, 200);
      const res = await rawRequest(server.port, GET('/ping', fields(20)));
      assert.equal(res?.status, 431);
      assert.match(res.body, /\b20\b/, 'the body names the limit');
    });

    it('refuses a request pipelined behind a slow one, and keeps serving', async () => {
      // The refused request's response has no socket yet (it waits behind the first): the
      // refusal must not need one (found by the resilience fuzzer: a worker died of it).
      const fields = Array.from({ length: 25 }, (_, i) => `X-F${i}: v\r\n`).join('');
      const connection = await RawConnection.open(server.port);
      try {
        connection.send(GET('/slow?ms=200') + GET('/ping', fields));
        await connection.waitClosed(10_000);
      } finally {
        connection.close();
      }
      assert.equal((await rawRequest(server.port, GET('/ping')))?.status, 200);
    });

    it('logs a client that leaves mid-body as gone, not as an app error', async () => {
      const before = server.reported.length;
      const goneBefore = server.gone.length;
      const connection = await RawConnection.open(server.port);
      connection.send('POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1000));
      await sleep(200);
      connection.close();
      // Both engines read a body whole before they call the app: the app never sees this one.
      assert.equal((await rawRequest(server.port, GET('/ping')))?.status, 200);
      assert.equal(server.gone.length, goneBefore, 'the app never saw the request');
      assert.equal(server.reported.length, before, `not reported as an error: ${server.reported.slice(before).map(String)}`);
    });

    it('closes a response to a client that stopped reading, and the app stream with it', async () => {
      const closed = streams.endlessClosed;
      const connection = await RawConnection.open(server.port);
      try {
        connection.socket.pause(); // never read: the kernel buffers fill, then writes stall
        connection.send(GET('/endless'));
        // --send-timeout, 1 s here.
        assert.ok(await eventually(() => streams.endlessClosed > closed, 30_000), 'the app stream was closed');
      } finally {
        connection.close();
      }
      assert.equal((await rawRequest(server.port, GET('/ping')))?.status, 200);
    });
  });
}

for (const name of ENGINE_NAMES) {
  it(`a pool worker survives every broken response and keeps its pid (${name})`, async (t) => {
    const pool = await PoolProcess.start(t, ['--engine', name, '--workers', '1', '--app', 'test/fixtures/apps.ts#app', '--access-log', 'off']);
    const pid = JSON.parse((await get(pool.port, '/pid')).body).pid;
    for (const path of [...BROKEN, '/stream-throws']) await rawRequest(pool.port, GET(path));
    const after = await get(pool.port, '/pid');
    assert.equal(after.status, 200);
    assert.equal(JSON.parse(after.body).pid, pid, 'the same worker answers');
    assert.doesNotMatch(pool.output, /died unexpectedly|Unhandled promise rejection/);
  });
}
