/**
 * One upstream server: its address, its pool of idle keep-alive connections, and its passive
 * health (Nginx's `max_fails` / `fail_timeout`).
 *
 * Health is passive: nothing probes the server; real requests that fail to connect, time out or
 * get a broken response count as failures. `maxFails` failures within `failTimeoutMs` take the
 * server out of rotation for `failTimeoutMs`; after that it gets traffic again, and one more
 * failure takes it straight back out. A success clears the count.
 *
 * A failure of one request after it was sent (a read timeout, a broken or invalid response)
 * counts only if the server answered nothing else since that request went out: a server that
 * keeps answering other requests is healthy, and the failure is most likely that request's own
 * doing (a client's weird request, a slow endpoint). Otherwise one client could take every
 * server out of rotation with a few such requests. Connect failures always count.
 */
import { formatAddress, type ParsedAddress as Address } from '../../options/grammar.ts';
import type { UpstreamConnection } from './connection.ts';

/** Passive health settings shared by all upstreams. */
export interface HealthOptions {
  /** Failures within `failTimeoutMs` that take a server out; 0 = never take it out. */
  maxFails: number;
  /** The failure-counting window, and how long a failed server rests. */
  failTimeoutMs: number;
}

/** Runtime state of one upstream server. */
export class Upstream {
  readonly label: string;
  /** Requests in flight (connecting, waiting or streaming): least-connections balances on this. */
  active = 0;
  /** Idle keep-alive connections, most recently used last (taken LIFO, so cold ones expire). */
  readonly idle: UpstreamConnection[] = [];
  /**
   * Connections carrying a request now (for read timeouts and leak checks), in no order. An
   * array with each connection's index kept on it (addBusy/removeBusy, O(1)) rather than a Set:
   * a Set's adds and deletes, two per proxied request, rehash it now and then as deleted
   * entries pile up, which showed in the front's profile.
   */
  readonly busy: UpstreamConnection[] = [];
  /** Most idle connections kept open (Nginx's upstream `keepalive N`); extra ones are closed. */
  maxIdle = 64;
  /** Until when (performance clock, ms) the server is out of rotation; 0 = in. */
  downUntil = 0;
  /** Performance-clock time of the last completed exchange (0: none yet). */
  lastSuccessAt = 0;
  private fails = 0;
  private windowStart = 0;

  constructor(
    readonly address: Address,
    private health: HealthOptions,
  ) {
    this.label = formatAddress(address);
  }

  /** Replace the health settings (configuration reload). */
  configure(health: HealthOptions): void {
    this.health = health;
  }

  /** Is the server in rotation at `now`? */
  available(now: number): boolean {
    return this.downUntil <= now;
  }

  /** Count a failure; returns true if this one took the server out of rotation. */
  recordFailure(now: number): boolean {
    const { maxFails, failTimeoutMs } = this.health;
    if (maxFails <= 0) return false;
    if (now - this.windowStart > failTimeoutMs) {
      this.windowStart = now;
      this.fails = 0;
    }
    if (++this.fails < maxFails) return false;
    this.fails = 0;
    this.downUntil = now + failTimeoutMs;
    return true;
  }

  /** A request went through: the failure count starts over. */
  recordSuccess(now: number): void {
    this.fails = 0;
    this.lastSuccessAt = now;
  }

  /** Did the server complete some exchange after `sentAt`? (Then a failure since is not its health.) */
  answeredSince(sentAt: number): boolean {
    return this.lastSuccessAt > sentAt;
  }

  /** A pooled connection, or null (then the caller connects). */
  takeIdle(): UpstreamConnection | null {
    return this.idle.pop() ?? null;
  }

  /** `connection` carries a request now (it must not be busy already). */
  addBusy(connection: UpstreamConnection): void {
    connection.busyIndex = this.busy.length;
    this.busy.push(connection);
  }

  /** `connection` carries no request any more (nothing if it was not busy). */
  removeBusy(connection: UpstreamConnection): void {
    const at = connection.busyIndex;
    if (at === -1) return;
    connection.busyIndex = -1;
    const last = this.busy.pop()!;
    if (last !== connection) {
      this.busy[at] = last;
      last.busyIndex = at;
    }
  }

  /** Connections open to this server, idle or busy. */
  get openConnections(): number {
    return this.idle.length + this.busy.length;
  }
}
