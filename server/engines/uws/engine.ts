/**
 * uWebSockets.js ⇄ app interface: the engine's lifecycle (listen, drain, close). The request path
 * is handler.ts; it reads the head (request.ts) and body (body.ts) and writes the response
 * (response.ts, exchange.ts).
 *
 * What uWS cannot do, and docs/app-server.md records: answer 400 to a malformed request (it
 * closes the connection or waits for its 10 s timeout), serve HTTP/1.0, change its 10 s idle
 * timeout, accept more than ~50 header fields, or leave out its `uWebSockets: 20` response header.
 */
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { App } from '../../../app/interface.ts';
import type { ParsedAddress as Address } from '../../../options/grammar.ts';
import type { Engine } from '../engine.ts';
import type { HostOptions } from '../host.ts';
import { loadUws } from '../../../wire/uws-binary.ts';
import { EngineContext } from './context.ts';
import { createHandler } from './handler.ts';

const uws = loadUws();

/** How long a draining engine must see no new request before it closes idle connections. */
const DRAIN_QUIET_MS = 200;

/** The uWebSockets.js engine. */
export class UwsEngine implements Engine {
  readonly #uwsApp: TemplatedApp;
  readonly #context: EngineContext;
  #token: us_listen_socket | null = null;

  constructor(app: App, options: HostOptions) {
    this.#context = new EngineContext(options);
    this.#uwsApp = uws.App();
    this.#uwsApp.any('/*', createHandler(app, this.#context));
  }

  listen(bind: Address): Promise<Address> {
    return new Promise((resolve, reject) => {
      if (bind.kind === 'unix') {
        this.#uwsApp.listen_unix((token) => {
          if (!token) return reject(new Error(`cannot listen on unix:${bind.path} (in use, or the directory is not writable)`));
          this.#token = token;
          resolve(bind);
        }, bind.path);
        return;
      }
      // uWS sets SO_REUSEPORT by default on Linux: each pool worker binds the port itself and the
      // kernel spreads new connections over the workers' accept queues.
      this.#uwsApp.listen(bind.host, bind.port, (token) => {
        if (!token) return reject(Object.assign(new Error(`cannot listen on ${bind.host}:${bind.port} (address in use or not available)`), { code: 'EADDRINUSE' }));
        this.#token = token;
        const port = uws.us_socket_local_port(token as never);
        this.#context.local = { address: bind.host, port };
        resolve({ kind: 'tcp', host: bind.host, port });
      });
    });
  }

  stopAccepting(): void {
    if (this.#token !== null) {
      uws.us_listen_socket_close(this.#token);
      this.#token = null;
    }
  }

  drain(timeoutMs: number): Promise<boolean> {
    const context = this.#context;
    // From now on every response closes its connection, so keep-alive clients reconnect elsewhere.
    context.draining = true;
    context.lastArrival = Date.now();
    this.stopAccepting();
    return new Promise((resolve) => {
      const done = (clean: boolean) => {
        clearTimeout(deadline);
        clearInterval(poll);
        // uWS has no "close idle connections": with nothing in flight, close them all.
        if (clean) this.close();
        resolve(clean);
      };
      const deadline = setTimeout(() => done(false), timeoutMs);
      // Idle means nothing in flight AND nothing new for a moment: a connection accepted just
      // before the listener closed has usually not delivered its request yet, and closing it
      // then would fail a request that was already ours.
      const poll = setInterval(() => {
        if (context.active === 0 && Date.now() - context.lastArrival >= DRAIN_QUIET_MS) done(true);
      }, DRAIN_QUIET_MS / 4);
    });
  }

  close(): void {
    this.stopAccepting();
    (this.#uwsApp as TemplatedApp & { close(): void }).close();
  }
}
