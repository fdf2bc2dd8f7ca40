/**
 * Server conformance: the SAME cases against every engine, hosted in this process and under the
 * worker pool (2 workers, real processes). A new engine is proven by adding its name to
 * ENGINE_NAMES (server/engines/engine.ts) and, if it cannot answer some malformed input the way
 * node:http does, one entry in REFUSALS below.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEngine, ENGINE_NAMES, type EngineName } from '../server/engines/engine.ts';
import { DEFAULT_LIMITS } from '../wire/limits.ts';
import { app, SECRET } from './fixtures/apps.ts';
import { type CleanupOwner, PoolProcess } from './fixtures/pool.ts';
import { RawConnection, rawRequest } from './fixtures/raw-http.ts';

/**
 * What an engine does with a malformed request line: node:http answers 400; uWebSockets.js
 * cannot (its parser drops the connection or waits for its idle timeout) — see docs/app-server.md.
 */
const REFUSALS: Record<EngineName, { malformed: 400 | 'no-answer' }> = {
  http: { malformed: 400 },
  net: { malformed: 400 },
};

const LIMITS = DEFAULT_LIMITS;
const GET = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: test\r\n${extra}\r\n`;

interface Host {
  port: number;
  /** Errors the server reported (in-process hosts only; the pool logs them). */
  reported: unknown[];
  stop(): Promise<void>;
}

async function inProcess(engineName: EngineName, owner: CleanupOwner): Promise<Host> {
  const reported: unknown[] = [];
  const engine = await createEngine(engineName, app, { limits: LIMITS, report: (error) => void reported.push(error) });
  owner.after(() => engine.close());
  const bound = await engine.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 });
  return {
    port: bound.kind === 'tcp' ? bound.port : 0,
    reported,
    stop: async () => {
      if (!(await engine.drain(500))) engine.close();
    },
  };
}

async function underPool(engineName: EngineName, owner: CleanupOwner): Promise<Host> {
  const pool = await PoolProcess.start(owner, ['--engine', engineName, '--workers', '2', '--app', 'test/fixtures/apps.ts#app', '--access-log', 'off']);
  return { port: pool.port, reported: [], stop: () => pool.stop() };
}

for (const engineName of ENGINE_NAMES) {
  for (const [mode, start] of [
    ['in-process', inProcess],
    ['pool of 2', underPool],
  ] as const) {
    describe(`conformance: ${engineName} engine, ${mode}`, () => {
      let host: Host;
      // Registered before anything starts: a start that throws still has its cleanup run.
      const cleanups: (() => unknown)[] = [];
      after(async () => {
        await host?.stop();
        for (const cleanup of cleanups.reverse()) await cleanup();
      });
      before(async () => {
        host = await start(engineName, { after: (fn) => cleanups.push(fn) });
      });

      it('answers GET with the body, Content-Length and a Date header', async () => {
        const res = await rawRequest(host.port, GET('/ping'));
        assert.equal(res?.status, 200);
        assert.equal(res.body, '{"ok":true}');
        assert.equal(res.headers['content-length'], '11');
        assert.equal(res.headers['content-type'], 'application/json');
        assert.ok(!Number.isNaN(Date.parse(res.headers['date'] ?? '')), `Date header: ${res.headers['date']}`);
      });

      it('keeps the connection alive between requests', async () => {
        const connection = await RawConnection.open(host.port);
        try {
          connection.send(GET('/ping'));
          const [first] = await connection.responses(1);
          connection.send(GET('/pid'));
          const [second] = await connection.responses(1);
          assert.equal(first?.status, 200);
          assert.equal(second?.status, 200);
          assert.equal(connection.closed, false);
        } finally {
          connection.close();
        }
      });

      it('streams a body with chunked framing', async () => {
        const res = await rawRequest(host.port, GET('/stream?lines=3'));
        assert.equal(res?.status, 200);
        assert.equal(res.headers['transfer-encoding'], 'chunked');
        assert.equal(res.body, 'line 1\nline 2\nline 3\n');
      });

      it('answers HEAD with the GET Content-Length and no body', async () => {
        const connection = await RawConnection.open(host.port);
        try {
          // A GET on the same connection right after proves no body bytes followed the HEAD's
          // headers. (Sent after the HEAD's answer, not pipelined: uWS aborts a pending response
          // when a pipelined request arrives, see docs/app-server.md.)
          for (const [path, length] of [['/ping', '11'], ['/file', '1024']] as const) {
            connection.send(`HEAD ${path} HTTP/1.1\r\nHost: test\r\n\r\n`);
            const [head] = await connection.responses(1, [true]);
            assert.equal(head?.status, 200);
            assert.equal(head.headers['content-length'], length);
            connection.send(GET('/ping'));
            const [get] = await connection.responses(1);
            assert.equal(get?.status, 200);
            assert.equal(get.body, '{"ok":true}');
          }
        } finally {
          connection.close();
        }
      });

      it('sends a file with its Content-Length', async () => {
        const res = await rawRequest(host.port, GET('/file'));
        assert.equal(res?.status, 200);
        assert.equal(res.headers['content-length'], '1024');
        assert.equal(res.body.length, 1024);
      });

      it('answers 500 without internals when the app throws', async () => {
        const res = await rawRequest(host.port, GET('/throw'));
        assert.equal(res?.status, 500);
        assert.ok(!res.body.includes(SECRET) && !res.body.includes(' at '), res.body);
        assert.deepEqual(Object.keys(JSON.parse(res.body)), ['detail']);
        if (mode === 'in-process') assert.ok(host.reported.some((e) => String((e as Error).message).includes(SECRET)));
      });

      it('answers 500 when the app returns something that is not a response', async () => {
        const res = await rawRequest(host.port, GET('/garbage'));
        assert.equal(res?.status, 500);
      });

      it('answers 500 instead of sending a header with CR/LF', async () => {
        const res = await rawRequest(host.port, GET('/bad-header'));
        assert.equal(res?.status, 500);
        assert.equal(res.headers['injected'], undefined);
      });

      it(`refuses a malformed request (${REFUSALS[engineName].malformed}) and keeps serving`, async () => {
        const connection = await RawConnection.open(host.port);
        try {
          connection.send('GARBAGE\x01 / HTTP/1.1\r\n\r\n');
          const [res] = await connection.responses(1, [], REFUSALS[engineName].malformed === 400 ? 5000 : 300);
          if (REFUSALS[engineName].malformed === 400) {
            assert.equal(res?.status, 400);
            assert.ok(await connection.waitClosed(2000), 'connection closed after the 400');
          } else {
            assert.equal(res, undefined, 'no answer at all rather than a wrong one');
          }
        } finally {
          connection.close();
        }
        assert.equal((await rawRequest(host.port, GET('/ping')))?.status, 200);
      });

      it('answers 431 to oversized headers', async () => {
        const res = await rawRequest(host.port, GET('/ping', `X-Big: ${'a'.repeat(LIMITS.maxHeaderSize + 100)}\r\n`));
        assert.equal(res?.status, 431);
      });

      it('answers 414 to an overlong request-target', async () => {
        const res = await rawRequest(host.port, GET(`/${'u'.repeat(LIMITS.maxRequestLine + 10)}`));
        assert.equal(res?.status, 414);
      });

      it('answers 413 to a declared body over the limit before reading it', async () => {
        const res = await rawRequest(host.port, `POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: ${LIMITS.maxBodySize + 1}\r\n\r\n`);
        assert.equal(res?.status, 413);
      });

      it('answers 413 to a chunked body that grows over the limit', async () => {
        const connection = await RawConnection.open(host.port);
        try {
          connection.send('POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n');
          const chunk = 'x'.repeat(64 * 1024);
          for (let sent = 0; sent <= LIMITS.maxBodySize && !connection.closed && connection.received === ''; sent += chunk.length) {
            connection.send(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
            await new Promise((resolve) => setImmediate(resolve));
          }
          const [res] = await connection.responses(1);
          assert.equal(res?.status, 413);
        } finally {
          connection.close();
        }
      });

      it('reads a body within the limit', async () => {
        const body = 'y'.repeat(100_000);
        const res = await rawRequest(host.port, `POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        assert.equal(res?.status, 200);
        assert.deepEqual(JSON.parse(res.body), { bytes: 100_000 });
      });

      it('serves others while a client is stuck halfway through its request head', async () => {
        const stuck = await RawConnection.open(host.port);
        try {
          stuck.send('GET /ping HTTP/1.1\r\nHost: te');
          const slowBody = await RawConnection.open(host.port);
          slowBody.send('POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nabc');
          try {
            for (let i = 0; i < 3; i++) assert.equal((await rawRequest(host.port, GET('/ping'), false, 2000))?.status, 200);
          } finally {
            slowBody.close();
          }
        } finally {
          stuck.close();
        }
      });
    });
  }
}
