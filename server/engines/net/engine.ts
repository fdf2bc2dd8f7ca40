/**
 * The app server on the project's own HTTP/1.1 server (wire/http1 over node:net): the strict
 * parser the front uses, so the app server accepts and refuses exactly what the front does,
 * answers every malformed request with its status, speaks HTTP/1.0, and keeps pipelined
 * responses in order. Bodies arrive whole (within --max-body-size) before the app is called.
 *
 * In a pool worker it never listens: the master accepts every connection and deals it to a
 * worker (server/pool/dealer.ts), which adopt()s it; in-process it binds its own socket.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { StreamedBody } from '../../../app/body.ts';
import { callApp } from '../../../app/errors.ts';
import { RequestHeaders } from '../../../app/headers.ts';
import type { App, Endpoint, Request } from '../../../app/interface.ts';
import { HostedRequest } from '../../../app/request.ts';
import type { Http1Connection, Http1Handler } from '../../../wire/http1/connection.ts';
import type { RequestHead } from '../../../wire/http1/request-head.ts';
import type { Http1Response } from '../../../wire/http1/response.ts';
import { Http1Server } from '../../../wire/http1/server.ts';
import type { ParsedAddress as Bind } from '../../../options/grammar.ts';
import type { Engine } from '../engine.ts';
import type { HostOptions } from '../host.ts';
import { NetContext } from './context.ts';
import { fail, respond } from './respond.ts';

const UNIX_ENDPOINT: Endpoint = Object.freeze({ address: 'unix', port: 0 });
/** See NodeHttpEngine: idle keep-alive connections get this long to send one more request. */
const DRAIN_IDLE_WINDOW_MS = 2000;
const SWEEP_MS = 50;

/** A body that arrived whole, as the app interface's async iterable. */
async function* once(body: Buffer): AsyncIterable<Uint8Array> {
  yield body;
}

const ENDPOINTS = Symbol('layerstack.endpoints');
type WithEndpoints = Http1Connection & { [ENDPOINTS]?: readonly [Endpoint, Endpoint] };

/** The connection's [client, server] endpoints, built once per connection, not per request. */
function endpointsOf(connection: WithEndpoints): readonly [Endpoint, Endpoint] {
  const known = connection[ENDPOINTS];
  if (known !== undefined) return known;
  const socket = connection.socket;
  const built =
    socket.remoteAddress === undefined
      ? ([UNIX_ENDPOINT, UNIX_ENDPOINT] as const)
      : ([Object.freeze({ address: socket.remoteAddress, port: socket.remotePort ?? 0 }), Object.freeze({ address: socket.localAddress ?? '', port: socket.localPort ?? 0 })] as const);
  connection[ENDPOINTS] = built;
  return built;
}

function handlerFor(app: App, context: NetContext): Http1Handler {
  const { report, onAccess } = context;
  const maxBody = context.limits.maxBodySize;
  const noBody = (): StreamedBody => new StreamedBody(null, null, maxBody);
  return {
    onRequest(head: RequestHead, body: Buffer | null, res: Http1Response): void {
      try {
        serve(head, body, res);
      } catch (error) {
        // An engine bug must cost this connection, not the worker and every request in it.
        report(error, { method: head.method, target: head.target } as Request);
        res.destroy();
      }
    },
    onRefused(failure, _head, connection): string {
      context.onRefused?.(failure.status, `${failure.reason} (${failure.kind})`, { address: connection.remoteAddress, port: 0 });
      return '';
    },
  };

  function serve(head: RequestHead, body: Buffer | null, res: Http1Response): void {
    const [client, server] = endpointsOf(res.connection);
    const request = new HostedRequest({
      method: head.method,
      target: head.target,
      headers: new RequestHeaders(head.headers),
      body: body === null ? noBody() : new StreamedBody(once(body), head.chunked ? null : body.length, maxBody),
      client,
      server,
      httpVersion: head.minor === 0 ? '1.0' : '1.1',
    });
    if (onAccess !== undefined) {
      res.onFinish = (done) =>
        onAccess({
          method: request.method,
          target: request.target,
          httpVersion: request.httpVersion,
          status: done.status,
          bytes: done.bytes,
          durationMs: performance.now() - done.receivedAt,
          client,
          headers: request.headers,
        });
    }
    const result = callApp(app, request, report);
    if (result instanceof Promise) result.then((response) => respond(context, request, response, res)).catch((error: unknown) => fail(context, request, res, error));
    else respond(context, request, result, res);
  }
}

/** The engine on wire/http1. */
export class NetEngine implements Engine {
  readonly #server: Http1Server;

  constructor(app: App, options: HostOptions) {
    const context = new NetContext(options);
    this.#server = new Http1Server(context.settings(), handlerFor(app, context));
  }

  async listen(bind: Bind): Promise<Bind> {
    if (bind.kind === 'unix') {
      await this.#server.listenUnix(bind.path);
      return bind;
    }
    const port = await this.#server.listen(bind.host, bind.port);
    return { kind: 'tcp', host: bind.host, port };
  }

  adopt(socket: Socket): void {
    this.#server.adopt(socket);
  }

  stopAccepting(): void {
    this.#server.stopListening();
  }

  drain(timeoutMs: number): Promise<boolean> {
    const server = this.#server;
    server.stopListening();
    return new Promise((resolve) => {
      // As NodeHttpEngine: busy connections close after their next response (Connection: close);
      // idle ones get a window to send one more request, then whatever is still idle is closed.
      let sweep: NodeJS.Timeout | undefined;
      const closeIdle = () => {
        for (const connection of server.connections) connection.closeIfIdle();
        if (server.connections.size === 0) done(true);
      };
      const window = setTimeout(() => {
        sweep = setInterval(closeIdle, SWEEP_MS);
        closeIdle();
      }, Math.min(DRAIN_IDLE_WINDOW_MS, timeoutMs));
      const empty = setInterval(() => server.connections.size === 0 && done(true), SWEEP_MS);
      const deadline = setTimeout(() => done(false), timeoutMs);
      let settled = false;
      function done(clean: boolean): void {
        if (settled) return;
        settled = true;
        clearTimeout(window);
        clearInterval(sweep);
        clearInterval(empty);
        clearTimeout(deadline);
        resolve(clean);
      }
    });
  }

  close(): void {
    this.#server.stopListening();
    this.#server.closeAll();
  }
}
