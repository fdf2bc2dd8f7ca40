/**
 * What both client-side engines share: the routing decision (static mapping first, then the
 * proxy), the settings, the logs, and the in-flight count graceful shutdown waits for.
 *
 * Engines (net-engine.ts over wire/http1, http-engine.ts for node:http) own the sockets and
 * the wire format; everything they must agree on lives here, so the two behave the same.
 */
import { performance } from 'node:perf_hooks';
import type { FileCache } from '../static/file-cache.ts';
import { normalizeUrlPath } from '../../wire/static-path.ts';
import { redirectToFolder, StaticFiles, textReply } from '../static/static-files.ts';
import { headerValue } from '../../wire/http1/request-head.ts';
import type { StaticMount, StaticReply } from '../static/static-files.ts';
import { ReverseProxy } from '../upstream/proxy.ts';
import type { ProxyRecord } from '../upstream/proxy.ts';
import type { ProxyOptions } from '../upstream/proxy.ts';
import { CompressingSink } from '../compression/compressing-sink.ts';
import type { Compression } from '../compression/compressing-sink.ts';
import { CompressibleTypes } from '../compression/policy.ts';
import type { CompressionSettings } from '../compression/policy.ts';
import type { TlsCredentials } from '../tls/credentials.ts';
import type { ClientSink } from '../upstream/proxy.ts';
import { buildRequestHead, requestIdFor } from '../upstream/request-head.ts';
import type { ClientRequestHead, ForwardingOptions } from '../upstream/request-head.ts';
import type { ParsedAddress } from '../../options/grammar.ts';
import { AccessLog, type AccessRecord } from '../../wire/access-log.ts';

/**
 * Longest request line the front accepts → 414: the app server's default (Gunicorn's
 * limit_request_line is 4094; ours, in wire/limits.ts, 8190, as Nginx's 8 KiB buffers).
 */
export const FRONT_MAX_REQUEST_LINE = 8190;
/**
 * Most header fields the front accepts from a client → 431. The uWebSockets.js app engine
 * reads about 50 fields (compiled in) and stalls past that; the front adds up to six of its own
 * (Host, X-Forwarded-For, -Proto, -Host, X-Request-Id, Content-Length), so 40 leaves a margin.
 * Real clients send 10–25.
 */
export const FRONT_MAX_HEADER_FIELDS = 40;

/** Client-side limits and timeouts (Nginx's client_* directives). */
export interface ClientSettings {
  /** Largest request body in bytes; past it 413 (client_max_body_size). */
  maxBodySize: number;
  /** Largest request head in bytes → 431. */
  maxHeaderSize: number;
  /** Longest request line in bytes → 414 (net engine; node:http counts it in the head). */
  maxRequestLine: number;
  /**
   * Most header fields from a client → 431 (net engine). It sits below the app server's own
   * limit by the fields the front adds (Host, X-Forwarded-For/-Proto/-Host, X-Request-Id,
   * Content-Length), so what the front forwards the app server can always read.
   */
  maxHeaderFields: number;
  /** Milliseconds to receive the whole request head (client_header_timeout) → 408. */
  headerTimeoutMs: number;
  /** Milliseconds between two reads of the request body (client_body_timeout) → 408. */
  bodyTimeoutMs: number;
  /** Milliseconds an idle client keep-alive connection stays open (keepalive_timeout). */
  keepAliveTimeoutMs: number;
  /** Milliseconds a client may leave a response unread (send_timeout). */
  sendTimeoutMs: number;
}

/** Everything the front needs to run, already validated (see config.ts). */
export interface FrontSettings {
  client: ClientSettings;
  statics: readonly StaticMount[];
  upstreams: readonly ParsedAddress[];
  proxy: ProxyOptions;
  forwarding: ForwardingOptions;
  accessLog: string;
  compression: CompressionSettings;
  /** Certificate and key when the front speaks TLS, else null. */
  tls: TlsCredentials | null;
  /** Strict-Transport-Security value sent on every TLS response, or null. */
  hsts: string | null;
}

/** Where a request goes. */
export type Route =
  | { kind: 'static'; mount: StaticMount; path: string }
  | { kind: 'proxy' }
  | { kind: 'reply'; reply: StaticReply };

const PROXY: Route = Object.freeze({ kind: 'proxy' });
const NOWHERE: Route = Object.freeze({
  kind: 'reply',
  reply: textReply(404, 'Not found: no static folder or upstream serves this path.'),
});
/** Methods whose request carries a body even when empty: they get `Content-Length: 0` upstream (compared, not hashed: once per request). */
function carriesBody(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH';
}

/** Shared state of a running front; rebuilt parts are swapped in on reload. */
export class FrontCore {
  settings: FrontSettings;
  statics: StaticFiles;
  proxy: ReverseProxy | null;
  accessLog: AccessLog;
  /** Compression of proxied responses, or null when off. */
  compression: Compression | null;
  /** Headers the front adds to every response besides X-Request-Id (HSTS); flat name, value list. */
  extraHeaders: readonly string[];
  /** Requests being answered now. */
  inFlight = 0;
  /** The route every proxied request takes (no allocation per request). */
  readonly proxyRoute: Route = PROXY;
  /** Set by graceful shutdown: responses carry `Connection: close`. */
  closing = false;
  private drained: (() => void) | null = null;

  constructor(
    settings: FrontSettings,
    readonly cache: FileCache,
    readonly errorLog: (line: string) => void,
  ) {
    this.settings = settings;
    this.compression = compressionOf(settings.compression);
    this.statics = new StaticFiles(settings.statics, cache, this.compression);
    this.proxy = settings.upstreams.length > 0 ? new ReverseProxy(settings.upstreams, settings.proxy, errorLog) : null;
    this.accessLog = new AccessLog(settings.accessLog);
    this.extraHeaders = extraHeadersOf(settings);
  }

  /**
   * Swap in a new configuration (SIGHUP). In-flight requests finish with what they started with.
   * Everything that can fail (static folders, the access log file) is built first, so a bad
   * configuration throws before anything changes.
   */
  reconfigure(settings: FrontSettings): void {
    const compression = compressionOf(settings.compression);
    const statics = new StaticFiles(settings.statics, this.cache, compression);
    // Reopened even at the same path: log rotation works with SIGHUP.
    const accessLog = settings.accessLog === '-' && this.settings.accessLog === '-' ? null : new AccessLog(settings.accessLog);
    this.cache.clear();
    this.statics = statics;
    if (settings.upstreams.length === 0) {
      this.proxy?.close();
      this.proxy = null;
    } else if (this.proxy === null) this.proxy = new ReverseProxy(settings.upstreams, settings.proxy, this.errorLog);
    else this.proxy.configure(settings.upstreams, settings.proxy);
    if (accessLog !== null) {
      void this.accessLog.close();
      this.accessLog = accessLog;
    }
    this.compression = compression;
    this.extraHeaders = extraHeadersOf(settings);
    this.settings = settings;
  }

  /** The request id for a request with `headers` from `clientAddress` (the trusted client's own, else new). */
  requestId(headers: readonly string[], clientAddress: string): string {
    return requestIdFor(headers, clientAddress, this.settings.forwarding);
  }


  /**
   * Add the front's own response headers to `headers` (a list the caller owns): X-Request-Id
   * (unless the upstream already sent one) and the extra headers (HSTS).
   */
  decorate(headers: string[], requestId: string): string[] {
    let present = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      // The first letter first: Content-Type has the same length and is on nearly every response.
      if (name.length === 12 && (name.charCodeAt(0) | 0x20) === 0x78 && name.toLowerCase() === 'x-request-id') {
        present = true;
        break;
      }
    }
    if (!present) headers.push('X-Request-Id', requestId);
    const extra = this.extraHeaders;
    for (let i = 0; i < extra.length; i++) headers.push(extra[i]!);
    return headers;
  }

  /**
   * The sink the proxy writes a response to: the engine's own `sink`, behind compression when it
   * is on and the request could get a compressed answer. `headers` are the request's.
   */
  responseSink(sink: ClientSink, method: string, headers: readonly string[]): ClientSink {
    const compression = this.compression;
    if (compression === null || method === 'HEAD') return sink;
    let acceptEncoding = '';
    let range = false;
    for (let i = 0; i < headers.length; i += 2) {
      const n = headers[i]!.length;
      if (n === 15 && headers[i]!.toLowerCase() === 'accept-encoding') acceptEncoding = acceptEncoding === '' ? headers[i + 1]! : acceptEncoding + ',' + headers[i + 1]!;
      else if (n === 5 && headers[i]!.toLowerCase() === 'range') range = true;
    }
    return new CompressingSink(sink, compression, { acceptEncoding, range });
  }

  /** Decide where the request for `target` (path and query, as received) goes. */
  route(target: string): Route {
    const q = target.indexOf('?');
    const normalized = normalizeUrlPath(q === -1 ? target : target.slice(0, q));
    if (!normalized.ok) return { kind: 'reply', reply: textReply(400, normalized.reason) };
    const path = normalized.path;
    const mount = this.statics.match(path);
    if (mount !== null) return { kind: 'static', mount, path };
    if (this.statics.folderWithoutSlash(path)) return { kind: 'reply', reply: redirectToFolder(path) };
    return this.proxy !== null ? PROXY : NOWHERE;
  }

  /** The upstream request head for a checked request with `body` (buffered) or none; `requestId` from `requestId()`. */
  upstreamHead(head: ClientRequestHead, body: Buffer | null, requestId: string): string {
    const length = body !== null ? body.length : carriesBody(head.method) ? 0 : -1;
    return buildRequestHead(head, length, requestId, this.settings.forwarding);
  }

  /**
   * The access-log record of a finished request (null when the log is off: nothing is built).
   * `minor`: the request's HTTP minor version; `headers`: its fields as a flat list, for Referer
   * and User-Agent.
   */
  record(
    client: string,
    method: string,
    target: string,
    minor: number,
    headers: readonly string[],
    status: number,
    bytes: number,
    receivedAt: number,
    proxied: ProxyRecord | null,
    requestId: string,
  ): AccessRecord | null {
    if (!this.accessLog.enabled) return null;
    return {
      client,
      method,
      target,
      httpVersion: minor === 0 ? '1.0' : '1.1',
      status,
      bytes,
      referer: headerValue(headers, 'referer'),
      userAgent: headerValue(headers, 'user-agent'),
      upstream: proxied !== null ? proxied.upstreamLabel : '-',
      upstreamMs: proxied !== null ? proxied.upstreamMs : -1,
      requestMs: performance.now() - receivedAt,
      requestId,
    };
  }

  /** A request started. */
  begin(): void {
    this.inFlight++;
  }

  /** A request finished (answered, or the client went away): log it. */
  end(record: AccessRecord | null): void {
    if (record !== null) this.accessLog.write(record);
    if (--this.inFlight === 0 && this.drained !== null) this.drained();
  }

  /** Resolve when no request is in flight (graceful shutdown). */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drained = () => {
        this.drained = null;
        resolve();
      };
    });
  }

  /** Stop timers, close pooled connections, flush and close the log. */
  close(): Promise<void> {
    this.proxy?.close();
    return this.accessLog.close();
  }
}

function compressionOf(settings: CompressionSettings): Compression | null {
  return settings.enabled ? { settings, types: new CompressibleTypes(settings.types) } : null;
}

function extraHeadersOf(settings: FrontSettings): string[] {
  return settings.tls !== null && settings.hsts !== null ? ['Strict-Transport-Security', settings.hsts] : [];
}
