/**
 * An HTTP/1.1 server over node:net: accepts connections, gives each an Http1Connection, runs one
 * sweep for every connection's deadlines, and shuts down gracefully. Handlers see complete
 * requests (head parsed and checked, body buffered within the limits) and answer through an
 * Http1Response; malformed and oversized requests are answered here with their status.
 *
 *   const server = new Http1Server(settings, { onRequest(head, body, res) { … }, onRefused() {} });
 *   const port = await server.listen('127.0.0.1', 0);
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import type tls from 'node:tls';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { Http1Connection } from './connection.ts';
import type { Http1Handler, Http1Host, Http1Settings } from './handler.ts';

/**
 * node:tls, loaded only by a server that serves HTTPS: it costs about 2 MB of resident memory,
 * and most users of this server (the app server's workers, a plain-HTTP front) never need it.
 * A synchronous require, so the constructor stays synchronous; it runs once, at start.
 */
const requireBuiltin = createRequire(import.meta.url);

export class Http1Server implements Http1Host {
  /** Set by `stopAccepting`: every response closes its connection. */
  draining = false;
  readonly connections = new Set<Http1Connection>();
  private readonly server: net.Server;
  private readonly secure: tls.Server | null;
  private sweeper: NodeJS.Timeout | null = null;

  /** `tlsOptions`: serve HTTPS (node:tls) instead of plain HTTP. */
  constructor(
    public settings: Http1Settings,
    readonly handler: Http1Handler,
    tlsOptions: TlsOptions | null = null,
  ) {
    // allowHalfOpen: a client that closes its side while its request is answered is seen (and
    // the work for it stopped) by the connection, not by node:net closing the socket under it.
    const accept = (socket: net.Socket): void => {
      this.connections.add(new Http1Connection(socket, this));
    };
    this.secure = tlsOptions === null ? null : (requireBuiltin('node:tls') as typeof tls).createServer({ ...tlsOptions, allowHalfOpen: true, noDelay: true }, accept);
    this.server = this.secure ?? net.createServer({ allowHalfOpen: true, noDelay: true }, accept);
  }

  /** The TLS server, when serving HTTPS (for handshake logging). */
  get tlsServer(): tls.Server | null {
    return this.secure;
  }

  /** New certificates for new handshakes; open connections keep theirs. */
  setSecureContext(options: SecureContextOptions): void {
    this.tlsServer?.setSecureContext(options);
  }

  /**
   * Start listening; resolves with the port actually bound (0 on a unix socket). `shared`: under
   * node:cluster, take the listening socket the primary holds for every worker (the app
   * server's pool) instead of binding one of our own.
   */
  listen(host: string, port: number, shared = false): Promise<number> {
    return this.listenOn({ host, port, exclusive: !shared });
  }

  /** Listen on a unix socket path (`shared`: as for listen()). */
  listenUnix(path: string, shared = false): Promise<number> {
    return this.listenOn({ path, exclusive: !shared });
  }

  private listenOn(options: net.ListenOptions): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      // exclusive: a stale server still bound to the port must make this one fail, not share it.
      this.server.listen(options, () => {
        this.server.off('error', reject);
        this.startSweeper();
        const address = this.server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
  }

  /**
   * Stop accepting and make every response close its connection, but leave idle connections
   * open (closing one races a request its client may be sending): the caller closes them later.
   */
  stopListening(): void {
    this.draining = true;
    if (this.server.listening) this.server.close();
  }

  /** New limits and timeouts (a reload); deadlines already running keep theirs. */
  configure(settings: Http1Settings): void {
    this.settings = settings;
    this.startSweeper();
  }

  forget(connection: Http1Connection): void {
    this.connections.delete(connection);
  }

  /** Stop accepting, close idle connections; the others close after their current response. */
  stopAccepting(): void {
    this.draining = true;
    this.server.close();
    for (const connection of this.connections) connection.closeIfIdle();
  }

  /** Cut every connection and stop the sweep. */
  closeAll(): void {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const connection of this.connections) connection.socket.destroy();
  }

  /** One interval for every connection's deadline, at a quarter of the shortest timeout (20 ms – 1 s). */
  private startSweeper(): void {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    const { headerTimeoutMs, bodyTimeoutMs, keepAliveTimeoutMs, sendTimeoutMs } = this.settings;
    const shortest = Math.min(...[headerTimeoutMs, bodyTimeoutMs, keepAliveTimeoutMs, sendTimeoutMs, 2000].filter((ms) => ms > 0));
    this.sweeper = setInterval(() => {
      const now = performance.now();
      for (const connection of this.connections) connection.checkDeadline(now);
    }, Math.max(20, Math.min(1000, shortest / 4)));
    this.sweeper.unref();
  }
}
