/**
 * The reverse proxy: choose an upstream, send the request on a pooled connection, pass the
 * response to the client-side engine, and turn every failure into the right status.
 *
 * Failure policy (Nginx's `proxy_next_upstream error timeout`, narrowed to what is always safe):
 *   - connect refused / connect timeout: the request never reached anyone, so the next upstream
 *     is tried (any method); the failed one gets a strike (passive health);
 *   - a REUSED keep-alive connection that dies before the first response byte, within
 *     STALE_CLOSE_WINDOW_MS of the request being written: the upstream probably closed it while
 *     idle (the race the idle-timeout ordering minimises, but cannot exclude); an idempotent
 *     request is sent once more on a fresh connection to the same server;
 *   - connections that die later, having held their requests while the upstream worked: a
 *     worker died, most often killed for its heartbeat timeout because one request stalled it.
 *     Those dying together are taken as one worker's (LateDeaths): the oldest request is the
 *     likely culprit and gets 502 (replayed, it would stall and cost the next worker too); the
 *     idempotent ones that queued behind it are sent once more on fresh connections;
 *   - anything after the request was sent (timeout, invalid or broken response): no retry, since
 *     the app may have acted on it — 504 for a timeout, 502 otherwise;
 *   - once response bytes went to the client, a failure can only cut the client connection.
 */
import { performance } from 'node:perf_hooks';
import { Balancer } from './balancer.ts';
import type { BalanceStrategy } from './balancer.ts';
import { connectUpstream } from './connection.ts';
import type { ExchangeFailure, ExchangeHandler, UpstreamConnection } from './connection.ts';
import type { ResponseHead } from './response-head.ts';
import { Upstream } from './upstream.ts';
import type { ParsedAddress as Address } from '../../options/grammar.ts';
import type { HealthOptions } from './upstream.ts';
import { plainBody, TEXT_PLAIN } from '../../wire/plain-reply.ts';
import { reasonPhrase } from '../../wire/status-line.ts';

/** How the client-side engine receives a proxied response. Implemented once per engine. */
export interface ClientSink {
  /** True once the client has gone away. */
  readonly aborted: boolean;
  /** Set by the proxy; the engine calls it (once) when the client goes away mid-exchange. */
  onAbort: (() => void) | null;
  /**
   * Send a whole response at once. Body buffers here and in `write` are only valid during the
   * call (views of a shared read buffer): copy what cannot be handed to the socket right away. `headers` (a flat name, value list) is handed over: the sink may
   * append to it. `length` is the Content-Length to announce: the body's size, the upstream's for
   * a HEAD request, or -1 for none (204, 304, or a HEAD answered without one).
   */
  complete(status: number, reason: string, headers: string[], body: Buffer, length: number, obsText: boolean): void;
  /**
   * Start a streamed response (headers handed over); `length` is the body size, or -1 (the engine
   * then chunks). `obsText`: some header value holds latin1 characters ≥ 0x80 to send as single bytes.
   */
  start(status: number, reason: string, headers: string[], length: number, obsText: boolean): void;
  /** Send body bytes; false means the client is slow: wait for `whenWritable`. */
  write(chunk: Buffer): boolean;
  /** Call `resume` once the client can take more. */
  whenWritable(resume: () => void): void;
  /** The streamed body is complete. */
  end(): void;
  /** Cut the client connection (a response that broke midway cannot be finished honestly). */
  destroy(): void;
}

/** Timeouts and pool settings. */
export interface ProxyOptions {
  strategy: BalanceStrategy;
  /** Milliseconds to establish an upstream connection (→ next upstream, then 504). */
  connectTimeoutMs: number;
  /** Milliseconds between two reads from the upstream (→ 504 before the head, cut after). */
  readTimeoutMs: number;
  /** Milliseconds a client may leave a streamed response unread before it is cut (Nginx send_timeout). */
  sendTimeoutMs: number;
  /** Idle upstream connections close after this; must stay below the app server's keep-alive timeout. */
  idleTimeoutMs: number;
  /** Idle connections kept per upstream. */
  keepalive: number;
  health: HealthOptions;
  /**
   * Append `upstream;dur=…, proxy;dur=…` to each response's Server-Timing (default off in the
   * front, on in `npm start`). Off, the upstream's own Server-Timing passes through unchanged and
   * no client learns how long the app took (W3C Server Timing, "Privacy and Security").
   */
  serverTiming: boolean;
}

const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * How soon after the request was written a reused connection must die (with no response byte)
 * for the idempotent request to be sent once more. The stale keep-alive race (the upstream
 * closed the idle connection as we reused it) shows within a loop turn or a round trip; a
 * connection that dies later had held the request while the upstream worked on it — a worker
 * killed for its heartbeat timeout (--timeout, at least a few seconds), a crash mid-request —
 * and the same request replayed would stall or crash the next worker too: one stuck request
 * would cost two workers. The client gets 502 instead. Nginx bounds its replays in time with
 * proxy_next_upstream_timeout (unlimited by default; it replays a request that died on a
 * cached connection however long it waited). 2 s leaves the race's replay intact on a loaded
 * machine whose event loop lags, and stays below any sensible worker timeout.
 */
export const STALE_CLOSE_WINDOW_MS = 2000;

/**
 * Connections of one upstream that die (late, see above) within this long of each other are
 * taken as the same worker's death: a killed process's sockets all close at its exit, and the
 * front reads their ends in one or two event-loop turns.
 */
const LATE_DEATH_BATCH_MS = 25;

/** What the proxy did for one request, for the access log. */
export interface ProxyRecord {
  /** The upstream(s) tried, comma-separated like Nginx's $upstream_addr; '-' if none. */
  upstreamLabel: string;
  /** Milliseconds from the first attempt to the response's last byte (or the failure); -1 if none. */
  upstreamMs: number;
}

/** One request's journey through the proxy; the ExchangeHandler for its upstream connection. */
class Forwarding implements ExchangeHandler, ProxyRecord {
  upstreamLabel = '-';
  upstreamMs = -1;
  private upstream: Upstream | null = null;
  private connection: UpstreamConnection | null = null;
  private excluded: Upstream[] | null = null;
  private retriedFresh = false;
  private attemptStart = 0;
  /** When the request was written to the current connection (performance clock). */
  private sentAt = 0;

  get sentAtMs(): number {
    return this.sentAt;
  }

  get currentUpstream(): Upstream {
    return this.upstream!;
  }
  private firstStart = 0;
  private lastFailure: 502 | 504 = 502;
  private inFlight = false;
  private headSent = false;
  /** Resumes the upstream once a slow client drained (made on the first backpressure only). */
  private resumer: (() => void) | null = null;

  constructor(
    private readonly proxy: ReverseProxy,
    readonly method: string,
    readonly head: string,
    readonly encoding: BufferEncoding,
    readonly body: Buffer | null,
    readonly receivedAt: number,
    readonly sink: ClientSink,
  ) {}

  /** Pick an upstream and send (or connect first). `fresh` skips the pool (the stale-keep-alive retry). */
  attempt(target: Upstream | null, fresh: boolean): void {
    const proxy = this.proxy;
    const now = performance.now();
    const upstream = target ?? proxy.balancer.pick(now, this.excluded);
    if (upstream === null) {
      const none = this.excluded === null;
      return this.fail(this.lastFailure, none ? 'Bad Gateway: no upstream server is available.' : this.lastFailure === 504
        ? 'Gateway Timeout: the upstream server did not accept the connection in time.'
        : 'Bad Gateway: the upstream server could not be reached.');
    }
    this.upstream = upstream;
    upstream.active++;
    this.inFlight = true;
    this.upstreamLabel = this.upstreamLabel === '-' ? upstream.label : this.upstreamLabel + ', ' + upstream.label;
    this.attemptStart = now;
    if (this.firstStart === 0) this.firstStart = now;
    const pooled = fresh ? null : upstream.takeIdle();
    if (pooled !== null) return this.dispatch(pooled, now);
    connectUpstream(upstream, proxy.options.connectTimeoutMs, (error, connection) => {
      if (error !== null || connection === null) {
        this.settle();
        const out = upstream.recordFailure(performance.now());
        proxy.log(`upstream ${upstream.label} connect failed: ${error?.message ?? 'unknown'}${out ? ' (now out of rotation)' : ''} — ${this.method}`);
        if (this.sink.aborted) return;
        (this.excluded ??= []).push(upstream);
        // Like Nginx, the answer reports the last attempt's failure.
        this.lastFailure = error?.timeout ? 504 : 502;
        return this.attempt(null, false);
      }
      if (this.sink.aborted) {
        // Nobody is waiting: keep the fresh connection for the next request (if the pool has room).
        this.settle();
        if (upstream.idle.length >= upstream.maxIdle) return connection.destroy();
        connection.idleSince = performance.now();
        upstream.idle.push(connection);
        return;
      }
      this.dispatch(connection, performance.now());
    });
  }

  private dispatch(connection: UpstreamConnection, now: number): void {
    this.connection = connection;
    this.sentAt = now;
    this.sink.onAbort = () => this.abandon();
    const { readTimeoutMs, sendTimeoutMs } = this.proxy.options;
    connection.send(this.head, this.encoding, this.body, this.method === 'HEAD', this, readTimeoutMs, sendTimeoutMs, now);
  }

  onComplete(head: ResponseHead, body: Buffer, now: number): void {
    const upstream = this.upstream!;
    upstream.recordSuccess(now);
    this.settle();
    this.upstreamMs = now - this.firstStart;
    this.sink.onAbort = null;
    if (this.sink.aborted) return;
    const status = head.status;
    const length = status === 204 || status === 304 ? -1 : this.method === 'HEAD' ? head.contentLength : body.length;
    this.sink.complete(status, head.reason, this.timed(head.headers, now), body, length, head.obsText);
  }

  onHead(head: ResponseHead, length: number): void {
    this.headSent = true;
    this.sink.start(head.status, head.reason, this.timed(head.headers), length, head.obsText);
  }

  /**
   * `headers` with the front's Server-Timing entries when --server-timing is on; `now` is the
   * performance clock if the caller has read it (else it is read here, and only when on).
   */
  private timed(headers: string[], now = -1): string[] {
    if (!this.proxy.options.serverTiming) return headers;
    return withTiming(headers, (now < 0 ? performance.now() : now) - this.attemptStart, this.attemptStart - this.receivedAt);
  }

  onBody(chunk: Buffer): boolean {
    if (this.sink.write(chunk)) return true;
    this.sink.whenWritable((this.resumer ??= () => this.connection?.resume()));
    return false;
  }

  onEnd(): void {
    this.upstream!.recordSuccess(performance.now());
    this.settle();
    this.upstreamMs = performance.now() - this.firstStart;
    this.sink.onAbort = null;
    if (!this.sink.aborted) this.sink.end();
  }

  onFailure(failure: ExchangeFailure, detail: string): void {
    const upstream = this.upstream!;
    const connection = this.connection!;
    this.settle();
    this.connection = null;
    const proxy = this.proxy;
    if (this.sink.aborted) return;
    if (failure === 'no-response') {
      if (performance.now() - this.sentAt >= STALE_CLOSE_WINDOW_MS) return proxy.lateDeaths.add(this, detail);
      if (connection.reused && !this.retriedFresh && IDEMPOTENT.has(this.method)) {
        // Most likely the upstream closed this idle keep-alive connection as we reused it.
        this.retriedFresh = true;
        return this.attempt(upstream, true);
      }
    }
    this.answerFailure(failure, detail);
  }

  /** The request's connection died after holding it, not as its worker's oldest request: replay it if it is safe to. */
  replayAfterLateDeath(detail: string): void {
    if (this.sink.aborted) return;
    if (this.retriedFresh || !IDEMPOTENT.has(this.method)) return this.answerFailure('no-response', `${detail} (not replayed: ${this.retriedFresh ? 'already replayed once' : 'not idempotent'})`);
    this.retriedFresh = true;
    this.proxy.log(`upstream ${this.upstream!.label} no-response: ${detail} (replayed: it waited behind an older request on a worker that died) — ${this.method}`);
    this.attempt(this.upstream, true);
  }

  /** Answer the client for a failed exchange (502, 504, or a cut connection), counting it against the upstream's health. */
  answerFailure(failure: ExchangeFailure, detail: string): void {
    const upstream = this.upstream!;
    const proxy = this.proxy;
    if (this.sink.aborted) return;
    this.upstreamMs = performance.now() - this.firstStart;
    if (failure === 'client-stalled') {
      proxy.log(`client stalled: ${detail} — ${this.method} via ${upstream.label}`);
      this.sink.onAbort = null;
      this.sink.destroy();
      return;
    }
    // Answered others meanwhile: this request's failure says nothing about the server's health.
    const counted = !upstream.answeredSince(this.attemptStart);
    const out = counted && upstream.recordFailure(performance.now());
    proxy.log(`upstream ${upstream.label} ${failure}: ${detail}${out ? ' (now out of rotation)' : counted ? '' : ' (not counted: it answered other requests meanwhile)'} — ${this.method}`);
    this.sink.onAbort = null;
    if (this.headSent) {
      // Part of the response already reached the client: it cannot be finished honestly.
      this.sink.destroy();
      return;
    }
    if (failure === 'timeout') this.fail(504, 'Gateway Timeout: the upstream server did not answer in time.');
    else if (failure === 'invalid') this.fail(502, 'Bad Gateway: the upstream server sent an invalid response.');
    else this.fail(502, 'Bad Gateway: the upstream server closed the connection without a complete response.');
  }

  /** The client went away: the connection is mid-exchange and cannot be reused. */
  private abandon(): void {
    const connection = this.connection;
    this.connection = null;
    this.settle();
    connection?.abandon();
  }

  /** This attempt is over: the upstream has one request fewer in flight (counted once). */
  private settle(): void {
    if (!this.inFlight) return;
    this.inFlight = false;
    this.upstream!.active--;
  }

  private fail(status: 502 | 504, message: string): void {
    this.sink.onAbort = null;
    if (this.sink.aborted) return;
    const body = plainBody(message);
    this.sink.complete(status, reasonPhrase(status), ['Content-Type', TEXT_PLAIN], body, body.length, false);
  }
}

/** Milliseconds with at most three decimals (cheaper than toFixed on the hot path). */
function milliseconds(ms: number): string {
  // The same text as String(Math.round(ms * 1000) / 1000), from integers: printing a fractional
  // double (shortest round-trip digits) cost more than the rest of the Server-Timing work.
  const micros = Math.round(ms * 1000);
  if (!(micros >= 0 && micros < 1e15)) return String(micros / 1000);
  const frac = micros % 1000;
  const whole = (micros - frac) / 1000;
  if (frac === 0) return String(whole);
  if (frac % 100 === 0) return whole + '.' + frac / 100;
  if (frac % 10 === 0) return whole + (frac < 100 ? '.0' : '.') + frac / 10;
  return whole + (frac < 10 ? '.00' : frac < 100 ? '.0' : '.') + frac;
}

/** Add `upstream;dur=…, proxy;dur=…` to the upstream's Server-Timing (or start one). */
function withTiming(headers: string[], upstreamMs: number, proxyMs: number): string[] {
  const entry = 'upstream;dur=' + milliseconds(upstreamMs) + ', proxy;dur=' + milliseconds(Math.max(0, proxyMs));
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    const name = headers[i]!;
    if (name.length === 13 && (name.charCodeAt(0) | 0x20) === 0x73 && name.toLowerCase() === 'server-timing') {
      headers[i + 1] = headers[i + 1] + ', ' + entry;
      return headers;
    }
  }
  headers.push('Server-Timing', entry);
  return headers;
}

/**
 * Requests whose connections died after holding them (no response byte, past the stale-close
 * window), gathered for LATE_DEATH_BATCH_MS so those of one worker's death are judged together:
 * per upstream, the request written first — the one the worker was on when it stalled, if one
 * request stalled it — gets its 502; the others waited behind it and are replayed if idempotent.
 */
class LateDeaths {
  private readonly batches = new Map<Upstream, { forwarding: Forwarding; detail: string }[]>();

  add(forwarding: Forwarding, detail: string): void {
    const upstream = forwarding.currentUpstream;
    const batch = this.batches.get(upstream);
    if (batch !== undefined) return void batch.push({ forwarding, detail });
    this.batches.set(upstream, [{ forwarding, detail }]);
    setTimeout(() => this.judge(upstream), LATE_DEATH_BATCH_MS);
  }

  private judge(upstream: Upstream): void {
    const batch = this.batches.get(upstream)!;
    this.batches.delete(upstream);
    batch.sort((a, b) => a.forwarding.sentAtMs - b.forwarding.sentAtMs);
    const now = performance.now();
    batch.forEach(({ forwarding, detail }, i) => {
      const held = `${detail} after holding the request ${Math.round(now - forwarding.sentAtMs)} ms`;
      if (i === 0) forwarding.answerFailure('no-response', `${held} (not replayed: the oldest request on the connections that died, the likely cause)`);
      else forwarding.replayAfterLateDeath(held);
    });
  }
}

/** The reverse proxy: upstreams, balancer, pools and the timer sweep for read and idle timeouts. */
export class ReverseProxy {
  balancer: Balancer;
  options: ProxyOptions;
  readonly lateDeaths = new LateDeaths();
  private upstreams: Upstream[];
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    addresses: readonly Address[],
    options: ProxyOptions,
    readonly log: (line: string) => void,
  ) {
    this.options = options;
    this.upstreams = addresses.map((address) => this.makeUpstream(address));
    this.balancer = new Balancer(this.upstreams, options.strategy);
    this.startSweeper();
  }

  /** Forward one request. `head` is from buildRequestHead; the response goes to `sink`. */
  forward(method: string, head: string, encoding: BufferEncoding, body: Buffer | null, receivedAt: number, sink: ClientSink): ProxyRecord {
    const forwarding = new Forwarding(this, method, head, encoding, body, receivedAt, sink);
    forwarding.attempt(null, false);
    return forwarding;
  }

  /** Apply a new configuration (reload): keep the state of upstreams that stay, close the rest. */
  configure(addresses: readonly Address[], options: ProxyOptions): void {
    this.options = options;
    const kept = new Map(this.upstreams.map((u) => [u.label, u]));
    const next = addresses.map((address) => {
      const label = new Upstream(address, options.health).label;
      const existing = kept.get(label);
      kept.delete(label);
      if (existing === undefined) return this.makeUpstream(address);
      existing.configure(options.health);
      existing.maxIdle = options.keepalive;
      return existing;
    });
    for (const gone of kept.values()) for (const connection of gone.idle.slice()) connection.destroy();
    this.upstreams = next;
    this.balancer = new Balancer(next, options.strategy);
    this.startSweeper();
  }

  /** Per-upstream counters (tests, diagnostics). */
  stats(): { label: string; active: number; idle: number; busy: number; available: boolean }[] {
    const now = performance.now();
    return this.upstreams.map((u) => ({ label: u.label, active: u.active, idle: u.idle.length, busy: u.busy.length, available: u.available(now) }));
  }

  /** Close idle connections and stop the timers (in-flight exchanges finish on their own). */
  close(): void {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const upstream of this.upstreams) for (const connection of upstream.idle.slice()) connection.destroy();
  }

  private makeUpstream(address: Address): Upstream {
    const upstream = new Upstream(address, this.options.health);
    upstream.maxIdle = this.options.keepalive;
    return upstream;
  }

  /**
   * One interval for all timeouts instead of a timer per request: it checks the busy connections'
   * read deadlines and closes connections idle for longer than the idle timeout.
   */
  private startSweeper(): void {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    const { readTimeoutMs, idleTimeoutMs } = this.options;
    const finest = Math.min(readTimeoutMs > 0 ? readTimeoutMs : Infinity, idleTimeoutMs > 0 ? idleTimeoutMs : Infinity);
    const period = Math.max(10, Math.min(1000, Number.isFinite(finest) ? finest / 4 : 1000));
    this.sweeper = setInterval(() => this.sweep(), period);
    this.sweeper.unref();
  }

  private sweep(): void {
    const now = performance.now();
    const idleTimeout = this.options.idleTimeoutMs;
    for (const upstream of this.upstreams) {
      // timeout() takes the connection out of the busy list (swapping the last one in): walk a copy.
      for (const connection of upstream.busy.slice()) if (connection.deadline <= now) connection.timeout();
      if (idleTimeout > 0) for (const connection of upstream.idle.slice()) if (now - connection.idleSince >= idleTimeout) connection.destroy();
    }
  }
}
