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
import type { TlsOptions } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { Http1Connection } from './connection.ts';
import { useSharedReads } from './shared-read.ts';
import type { Http1Handler, Http1Host, Http1Settings } from './handler.ts';

/**
 * node:tls, loaded only by a server that serves HTTPS: it costs about 2 MB of resident memory,
 * and most users of this server (the app server's workers, a plain-HTTP front) never need it.
 * A synchronous require, so the constructor stays synchronous; it runs once, at start.
 */
const requireBuiltin = createRequire(import.meta.url);

/**
 * Response bytes the pipelined requests held back by a large response (Http1Host.later) may send
 * in one event-loop turn, all connections together; the rest wait for the next turn, in order.
 * About a millisecond of copying into loopback socket buffers: between two such turns every
 * other client is read and answered.
 */
const TURN_BUDGET = 1024 * 1024;
/**
 * Deadlines acted on in one event-loop turn. A refusal costs tens of microseconds (its log
 * lines, its write); thousands of slow clients that connected together time out in the same
 * sweep, and answering them all at once held every other client for a good part of a second.
 */
const SWEEP_SLICE = 64;

export class Http1Server implements Http1Host {
  /** Set by `stopAccepting`: every response closes its connection. */
  draining = false;
  readonly connections = new Set<Http1Connection>();
  private readonly server: net.Server;
  private readonly secure: tls.Server | null;
  private sweeper: NodeJS.Timeout | null = null;
  /** Connections whose pipelined requests wait for a later turn (see TURN_BUDGET), in order. */
  private waiting: Http1Connection[] = [];
  private turnScheduled = false;
  /** Bytes sent this turn by the connections taken from `waiting`. */
  private spent = 0;
  /** Connections the sweep found past a deadline, acted on SWEEP_SLICE per turn. */
  private expired: Http1Connection[] = [];

  /** `tlsOptions`: serve HTTPS (node:tls) instead of plain HTTP. */
  constructor(
    public settings: Http1Settings,
    readonly handler: Http1Handler,
    tlsOptions: TlsOptions | null = null,
  ) {
    // allowHalfOpen: a client that closes its side while its request is answered is seen (and
    // the work for it stopped) by the connection, not by node:net closing the socket under it.
    // TLS: the established socket is switched to the shared buffer too (useSharedReads).
    const acceptSecure = (socket: net.Socket): void => {
      let connection: Http1Connection | null = null;
      const pending: Buffer[] = [];
      const shared = useSharedReads(socket, (bytes) => {
        if (connection !== null) return connection.receive(bytes);
        pending.push(Buffer.from(bytes)); // read before the connection exists: a copy, handed over below
        return true;
      });
      connection = new Http1Connection(socket, this, shared);
      this.connections.add(connection);
      for (const bytes of pending) connection.receive(bytes);
    };
    // Plain TCP reads into one shared buffer (wire/http1/shared-read.ts): the accepted socket,
    // which has not started reading (pauseOnConnect), is switched to it before its first read.
    const acceptShared = (socket: net.Socket): void => {
      let connection: Http1Connection | null = null;
      const shared = useSharedReads(socket, (bytes) => connection === null || connection.receive(bytes));
      connection = new Http1Connection(socket, this, shared);
      this.connections.add(connection);
      if (!shared) socket.resume(); // 'data' events, as any socket's (pauseOnConnect left it paused)
    };
    this.secure = tlsOptions === null ? null : (requireBuiltin('node:tls') as typeof tls).createServer({ ...tlsOptions, allowHalfOpen: true, noDelay: true }, acceptSecure);
    this.server = this.secure ?? net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, acceptShared);
  }

  /**
   * Serve a connection accepted by another process (a pool master deals them to its workers) as
   * one this server accepted. Plain HTTP only: a TLS server must do the handshake itself.
   */
  adopt(socket: net.Socket): void {
    if (this.secure !== null) throw new Error('Http1Server.adopt: a TLS server accepts its own connections');
    if (this.sweeper === null) this.startSweeper();
    socket.setNoDelay(true);
    this.server.emit('connection', socket);
  }

  /** The TLS server, when serving HTTPS (for handshake logging). */
  get tlsServer(): tls.Server | null {
    return this.secure;
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

  later(connection: Http1Connection, bytes: number): void {
    this.spent += bytes;
    this.waiting.push(connection);
    if (!this.turnScheduled) {
      this.turnScheduled = true;
      setImmediate(this.nextTurn);
    }
  }

  /** Give waiting connections their turn until this turn's budget is spent; the rest go first next turn. */
  private readonly nextTurn = (): void => {
    this.turnScheduled = false;
    this.spent = 0;
    const turn = this.waiting;
    this.waiting = [];
    let i = 0;
    while (i < turn.length && this.spent < TURN_BUDGET) turn[i++]!.resumeTurn();
    if (i < turn.length) this.waiting = i === 0 ? turn.concat(this.waiting) : turn.slice(i).concat(this.waiting);
    if (this.waiting.length > 0 && !this.turnScheduled) {
      this.turnScheduled = true;
      setImmediate(this.nextTurn);
    }
  };

  /** Act on the deadlines the sweep found passed, SWEEP_SLICE per turn. */
  private readonly applyExpired = (): void => {
    const expired = this.expired;
    const now = performance.now();
    const n = Math.min(expired.length, SWEEP_SLICE);
    for (let i = 0; i < n; i++) expired[i]!.checkDeadline(now);
    if (n === expired.length) this.expired = [];
    else {
      this.expired = expired.slice(n);
      setImmediate(this.applyExpired);
    }
  };

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
      if (this.expired.length > 0) return; // the last sweep's work is still being done
      const now = performance.now();
      for (const connection of this.connections) if (connection.deadlinePassed(now)) this.expired.push(connection);
      if (this.expired.length > 0) this.applyExpired();
    }, Math.max(20, Math.min(1000, shortest / 4)));
    this.sweeper.unref();
  }
}
