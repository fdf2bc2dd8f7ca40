/**
 * The node:http engine: the shared adapter (node-http.ts) plus the lifecycle a pool worker needs.
 * In a pool worker it never listens: the master deals it connections (server/pool/dealer.ts),
 * which adopt() hands to node:http as if its own listener had accepted them.
 */
import type http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { App } from '../../app/interface.ts';
import type { ParsedAddress as Address } from '../../options/grammar.ts';
import type { Engine } from './engine.ts';
import type { HostOptions } from './host.ts';
import { closeIdleConnections } from '../../wire/http1/node-http-gate.ts';
import { createNodeHttpServer } from './node-http.ts';

/** How often a draining server looks for connections that have gone idle and closes them. */
const IDLE_SWEEP_MS = 50;

/**
 * How long a draining server leaves idle keep-alive connections open before closing them.
 * Closing an idle connection races with a request the client may be sending on it at that very
 * moment, and a client that does not retry sees an error. A client that keeps using its
 * connection sends its next request within this window and gets it answered with
 * `Connection: close`; only connections idle for the whole window are then closed.
 */
export const DRAIN_IDLE_WINDOW_MS = 2000;

/** node:http behind the Engine interface. */
export class NodeHttpEngine implements Engine {
  readonly #server: http.Server;
  readonly #closed: Promise<void>;
  /** Connections adopted from the pool master: node:http counts only those its listener accepted. */
  readonly #adopted = new Set<Socket>();
  #draining = false;
  #tracking = false;
  #listened = false;
  #adoptedGone: (() => void) | null = null;

  constructor(app: App, options: HostOptions) {
    this.#server = createNodeHttpServer(app, options);
    // 'close' fires once the listener is closed AND the last connection has ended.
    this.#closed = new Promise((resolve) => this.#server.once('close', resolve));
  }

  listen(bind: Address): Promise<Address> {
    const server = this.#server;
    this.#listened = true;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      const done = () => {
        server.off('error', reject);
        if (bind.kind === 'unix') resolve(bind);
        else resolve({ kind: 'tcp', host: bind.host, port: (server.address() as AddressInfo).port });
      };
      if (bind.kind === 'unix') server.listen(bind.path, done);
      else server.listen(bind.port, bind.host, done);
    });
  }

  adopt(socket: Socket): void {
    const server = this.#server;
    if (!this.#listened && !this.#tracking) {
      // node:http starts tracking connections (closeIdleConnections, closeAllConnections, the
      // header and request timeouts) on its 'listening' event; a server that never listens
      // must start it so.
      this.#tracking = true;
      server.emit('listening');
    }
    // As its own listener would have made it (http.Server is allowHalfOpen): a client that
    // half-closes after its request still gets the response.
    socket.allowHalfOpen = true;
    this.#adopted.add(socket);
    socket.once('close', () => {
      this.#adopted.delete(socket);
      if (this.#draining && this.#adopted.size === 0) this.#adoptedGone?.();
    });
    server.emit('connection', socket);
  }

  /**
   * Close the listener only. Not http.Server.close(): since Node 19 it also closes every idle
   * keep-alive connection at once, racing the requests clients are sending on them (drain()
   * gives those connections a window instead), and it stops the timer that enforces the
   * request timeouts on the connections that remain.
   */
  stopAccepting(): void {
    if (this.#server.listening) net.Server.prototype.close.call(this.#server);
  }

  drain(timeoutMs: number): Promise<boolean> {
    const server = this.#server;
    if (!this.#draining) {
      this.#draining = true;
      // Runs before the app's handler, so every response from now on says `Connection: close`
      // and a keep-alive client reconnects (to another worker) instead of racing our close.
      server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
        res.shouldKeepAlive = false;
      });
    }
    this.stopAccepting();
    return new Promise((resolve) => {
      // Busy connections close after their next response (Connection: close above). Idle ones
      // get the window to send one more request; after it, whatever is still idle is closed,
      // which ends the server.
      let sweep: NodeJS.Timeout | undefined;
      const window = setTimeout(() => {
        closeIdleConnections(server);
        sweep = setInterval(() => closeIdleConnections(server), IDLE_SWEEP_MS);
      }, Math.min(DRAIN_IDLE_WINDOW_MS, timeoutMs));
      const deadline = setTimeout(() => done(false), timeoutMs);
      let settled = false;
      const done = (clean: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(window);
        clearInterval(sweep);
        clearTimeout(deadline);
        resolve(clean);
      };
      // A server that listened ends with its 'close'; one that only adopted connections (a pool
      // worker) when the last of them has closed.
      if (this.#listened) void this.#closed.then(() => done(true));
      else if (this.#adopted.size === 0) done(true);
      else this.#adoptedGone = () => done(true);
    });
  }

  close(): void {
    this.stopAccepting();
    this.#server.closeAllConnections();
    for (const socket of this.#adopted) socket.destroy();
    // Now http.Server.close() has nothing left to race; it stops the timeout timer.
    this.#server.close();
  }
}
