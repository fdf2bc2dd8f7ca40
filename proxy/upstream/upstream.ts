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
import type { UpstreamConnection } from './connection.ts';

/** Where an upstream listens: TCP host and port, or a unix socket path. */
export type UpstreamAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** Parse `127.0.0.1:8001`, `[::1]:8001`, `localhost:8001` or `unix:/run/app.sock`; throws on anything else. */
export function parseUpstreamAddress(spec: string): UpstreamAddress {
  if (spec.startsWith('unix:')) {
    const path = spec.slice(5);
    if (!path.startsWith('/')) throw new Error(`upstream ${JSON.stringify(spec)}: a unix socket path must be absolute (unix:/path.sock)`);
    return { kind: 'unix', path };
  }
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(spec);
  const port = match ? Number(match[3]) : 0;
  if (!match || port < 1 || port > 65535) {
    throw new Error(`upstream ${JSON.stringify(spec)}: expected HOST:PORT, [IPv6]:PORT or unix:/path.sock`);
  }
  return { kind: 'tcp', host: match[1] ?? match[2]!, port };
}

/** The address written the way the access log and errors show it. */
export function addressLabel(address: UpstreamAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

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
  /** Connections carrying a request now (for read timeouts and leak checks). */
  readonly busy = new Set<UpstreamConnection>();
  /** Most idle connections kept open (Nginx's upstream `keepalive N`); extra ones are closed. */
  maxIdle = 64;
  /** Until when (performance clock, ms) the server is out of rotation; 0 = in. */
  downUntil = 0;
  /** Performance-clock time of the last completed exchange (0: none yet). */
  lastSuccessAt = 0;
  private fails = 0;
  private windowStart = 0;

  constructor(
    readonly address: UpstreamAddress,
    private health: HealthOptions,
  ) {
    this.label = addressLabel(address);
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

  /** Connections open to this server, idle or busy. */
  get openConnections(): number {
    return this.idle.length + this.busy.size;
  }
}
