/**
 * The client side on uWebSockets.js: the fast engine. Its C++ HTTP parser and corked writes cost
 * less than half of node:http's CPU per request (peers/RESULTS.md, table A), which is where the
 * front's static and proxy speed comes from.
 *
 * uWS rules this file follows: the HttpRequest is only valid during the handler call (everything
 * needed later is copied out first); a response not finished inside the handler must have an
 * onAborted handler, and after abort or end it must not be touched again; writes outside the
 * handler go inside res.cork(); body chunks from onData must be copied before the callback returns.
 *
 * Differences from the node:http engine, all from uWS itself: HTTP/1.0 requests and non-upper-case
 * methods are refused by closing the connection; malformed requests are closed without a 400; the
 * header size limit (about 16 KiB, then 431) and the idle timeout (about 10 s, both for a request
 * head and for keep-alive) are compiled in.
 */
import { createReadStream } from 'node:fs';
import type { ReadStream } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';
import net from 'node:net';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { TLS12_CIPHERS } from '../tls/credentials.ts';
import { withTlsFiles } from '../tls/uws-files.ts';
import type { StaticReply } from '../static/static-files.ts';
import type { ClientSink, ProxyRecord } from '../upstream/proxy.ts';
import type { AccessRecord } from './access-log.ts';
import { since } from './core.ts';
import type { FrontCore } from './core.ts';
import { checkFraming } from './framing.ts';
import type { FrontListener } from './listener.ts';
import { loadUws } from '../../server/engines/uws-binary.ts';

/** LIBUS_LISTEN_EXCLUSIVE_PORT (the typings declare it as an enum member only). */
const EXCLUSIVE_PORT = 1;

const METHODS: ReadonlyMap<string, string> = new Map(
  ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'].map((m) => [m.toLowerCase(), m]),
);

/** The request whose headers `readHeader` reads; set right before a synchronous use. */
let current: HttpRequest | null = null;
const readHeader = (name: string): string => current!.getHeader(name);
/** forEach target: collecting headers without a closure per request. */
let collected: string[] = [];
const collect = (name: string, value: string): void => {
  collected.push(name, value);
};

/** Write upstream headers; latin1 values (obs-text) go as bytes, since uWS encodes strings as UTF-8. */
function writeHeaders(res: HttpResponse, headers: readonly string[], obsText: boolean): void {
  if (!obsText) {
    for (let i = 0; i < headers.length; i += 2) res.writeHeader(headers[i]!, headers[i + 1]!);
    return;
  }
  for (let i = 0; i < headers.length; i += 2) res.writeHeader(headers[i]!, Buffer.from(headers[i + 1]!, 'latin1'));
}

/** Status lines with the standard reason phrase, made once: most responses use one of these. */
const STATUS_LINES: string[] = [];
for (const [code, phrase] of Object.entries(STATUS_CODES)) STATUS_LINES[Number(code)] = code + ' ' + phrase;

function statusLine(status: number, reason: string): string {
  if (reason === '' || reason === STATUS_CODES[status]) return STATUS_LINES[status] ?? String(status) + ' ';
  return status + ' ' + reason;
}

/** What the access log needs from a request, copied while the HttpRequest is valid. */
interface Seen {
  client: string;
  method: string;
  target: string;
  referer: string;
  userAgent: string;
  receivedAt: number;
  requestId: string;
}

function record(core: FrontCore, seen: Seen, status: number, bytes: number, proxied: ProxyRecord | null): AccessRecord | null {
  if (!core.accessLog.enabled) return null;
  return {
    client: seen.client,
    method: seen.method,
    target: seen.target,
    httpVersion: '1.1',
    status,
    bytes,
    referer: seen.referer,
    userAgent: seen.userAgent,
    upstream: proxied?.upstreamLabel ?? '-',
    upstreamMs: proxied?.upstreamMs ?? -1,
    requestMs: since(seen.receivedAt),
    requestId: seen.requestId,
  };
}

/** Write the status line and headers of a StaticReply, with the front's own headers. */
function writeReplyHead(core: FrontCore, res: HttpResponse, reply: StaticReply, requestId: string): void {
  res.writeStatus(reply.statusLine);
  const headers = reply.headers;
  for (let i = 0; i < headers.length; i += 2) res.writeHeader(headers[i]!, headers[i + 1]!);
  res.writeHeader('X-Request-Id', requestId);
  const extra = core.extraHeaders;
  for (let i = 0; i < extra.length; i += 2) res.writeHeader(extra[i]!, extra[i + 1]!);
}

/** Write a whole StaticReply (inside the handler, or inside a cork). */
function writeReply(core: FrontCore, res: HttpResponse, reply: StaticReply, close: boolean, requestId: string): void {
  writeReplyHead(core, res, reply, requestId);
  if (reply.length < 0) res.endWithoutBody();
  else if (reply.head) {
    // uWS would send the body of a HEAD response given to end(): announce the length ourselves.
    res.writeHeader('Content-Length', String(reply.length));
    res.endWithoutBody();
  } else res.end(reply.body!, close);
}

function textReply(status: number, message: string): StaticReply {
  const body = Buffer.from(message + '\n');
  return { status, statusLine: statusLine(status, ''), headers: ['Content-Type', 'text/plain; charset=utf-8'], body, file: null, start: 0, end: body.length - 1, length: body.length, head: false };
}

/**
 * Bodies above this size are sent with tryEnd/onWritable instead of end(). When end() cannot
 * write everything at once, this uWS version copies the rest into its backpressure buffer and
 * drains it by erasing from the front after each partial write — quadratic copying that made
 * 100 KB responses cost twice the CPU whenever the client's socket buffer was still small.
 * tryEnd writes what the socket takes and keeps nothing: the rest is offered again, straight from
 * the cached Buffer, when the socket is writable.
 */
const LARGE_BODY = 64 * 1024;

/** Send a large in-memory body (inside the handler: headers are written corked with the first part). */
function sendLarge(core: FrontCore, res: HttpResponse, reply: StaticReply, seen: Seen): void {
  const body = reply.body!;
  const total = body.length;
  let over = false;
  const finish = (status: number, bytes: number): void => {
    if (over) return;
    over = true;
    core.end(record(core, seen, status, bytes, null));
  };
  writeReplyHead(core, res, reply, seen.requestId);
  const [, done] = res.tryEnd(body, total);
  if (done) return finish(reply.status, total);
  res.onAborted(() => finish(499, 0));
  res.onWritable((offset) => {
    if (over) return true;
    const [sent, finished] = res.tryEnd(body.subarray(offset), total);
    if (finished) finish(reply.status, total);
    return sent;
  });
}

/** Large files: stream from disk with tryEnd/onWritable backpressure (uWS's VideoStreamer pattern). */
function streamFile(core: FrontCore, res: HttpResponse, reply: StaticReply, seen: Seen): void {
  let over = false;
  let stream: ReadStream | null = null;
  let pending: Buffer | null = null;
  let pendingOffset = 0;
  const total = reply.length;
  const finish = (status: number, bytes: number): void => {
    if (over) return;
    over = true;
    stream?.destroy();
    core.end(record(core, seen, status, bytes, null));
  };
  res.onAborted(() => finish(499, 0));
  writeReplyHead(core, res, reply, seen.requestId);
  res.onWritable((offset) => {
    if (pending === null || over) return true;
    const [sent, done] = res.tryEnd(pending.subarray(offset - pendingOffset), total);
    if (done) finish(reply.status, total);
    else if (sent) {
      pending = null;
      stream!.resume();
    }
    return sent;
  });
  stream = createReadStream(reply.file!, { start: reply.start, end: reply.end, highWaterMark: 256 * 1024 });
  stream.on('data', (chunk) => {
    if (over) return;
    const data = chunk as Buffer;
    let sent = false;
    let done = false;
    res.cork(() => {
      pendingOffset = res.getWriteOffset();
      [sent, done] = res.tryEnd(data, total);
    });
    if (done) finish(reply.status, total);
    else if (!sent) {
      pending = data;
      stream!.pause();
    }
  });
  stream.on('error', (error) => {
    core.errorLog(`static file ${reply.file}: ${error.message}`);
    if (!over) {
      over = true;
      core.end(record(core, seen, 499, 0, null));
      res.close();
    }
  });
}

/** A proxied request's response side on uWS. */
class UwsExchange implements ClientSink {
  aborted = false;
  onAbort: (() => void) | null = null;
  proxied: ProxyRecord | null = null;
  /** Body-reading state (set while the request body is being buffered). */
  bodyTimer: NodeJS.Timeout | null = null;
  private ended = false;
  private accounted = false;
  private status = 0;
  private bytes = 0;
  private total = -1;
  private pending: Buffer | null = null;
  private pendingOffset = 0;
  private resume: (() => void) | null = null;
  private endRequested = false;

  constructor(
    private readonly core: FrontCore,
    private readonly res: HttpResponse,
    readonly seen: Seen,
  ) {}

  /** uWS says the client is gone. */
  handleAbort(): void {
    if (this.bodyTimer !== null) clearTimeout(this.bodyTimer);
    this.aborted = true;
    if (this.ended) return;
    this.ended = true;
    const onAbort = this.onAbort;
    this.onAbort = null;
    onAbort?.();
    this.status = 499;
    this.account();
  }

  /**
   * Answer with a plain-text error and close the connection (refusals: 400, 408, 413).
   *
   * The answer is deferred to setImmediate on purpose. uWS keeps parsing whatever the client
   * pipelined behind the refused request and, if the response is already complete, dispatches
   * it — even after `end(body, closeConnection)`. While a response is still pending, pipelined
   * data makes uWS abort the connection instead. So: with nothing behind it, the client gets its
   * 400 and the connection closes; with a hidden request behind it, the connection is cut and
   * the hidden request is never handled.
   */
  refuse(status: number, message: string): void {
    if (this.ended) return;
    if (this.bodyTimer !== null) clearTimeout(this.bodyTimer);
    this.core.errorLog(`refused ${status} ${this.seen.method} ${this.seen.target} from ${this.seen.client} (request ${this.seen.requestId}): ${message}`);
    this.ended = true;
    this.status = status;
    setImmediate(() => {
      if (!this.aborted) {
        const reply = textReply(status, message);
        this.bytes = reply.length;
        this.res.cork(() => writeReply(this.core, this.res, reply, true, this.seen.requestId));
      }
      this.account();
    });
  }

  complete(status: number, reason: string, headers: string[], body: Buffer, length: number, obsText: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.status = status;
    const res = this.res;
    const head = this.seen.method === 'HEAD';
    this.core.decorate(headers, this.seen.requestId);
    res.cork(() => {
      res.writeStatus(statusLine(status, reason));
      writeHeaders(res, headers, obsText);
      if (length < 0) res.endWithoutBody();
      else if (head) {
        res.writeHeader('Content-Length', String(length));
        res.endWithoutBody();
      } else res.end(body, this.core.closing);
    });
    if (!head && length >= 0) this.bytes = body.length;
    this.account();
  }

  start(status: number, reason: string, headers: string[], length: number, obsText: boolean): void {
    if (this.ended) return;
    this.status = status;
    this.total = length;
    const res = this.res;
    this.core.decorate(headers, this.seen.requestId);
    res.cork(() => {
      res.writeStatus(statusLine(status, reason));
      writeHeaders(res, headers, obsText);
    });
    res.onWritable((offset) => this.writable(offset));
  }

  write(chunk: Buffer): boolean {
    if (this.ended) return true;
    const res = this.res;
    let ok = true;
    this.bytes += chunk.length;
    res.cork(() => {
      if (this.total >= 0) {
        const offset = res.getWriteOffset();
        const [sent, done] = res.tryEnd(chunk, this.total);
        if (done) this.ended = true;
        else if (!sent) {
          // tryEnd keeps nothing it could not send: remember the rest for onWritable (a copy:
          // `chunk` is a view of the proxy's shared read buffer).
          this.pending = Buffer.from(chunk);
          this.pendingOffset = offset;
          ok = false;
        }
      } else ok = res.write(chunk); // chunked mode: uWS buffers what it could not send
    });
    if (this.ended) this.account();
    return ok;
  }

  whenWritable(resume: () => void): void {
    this.resume = resume;
  }

  end(): void {
    if (this.total >= 0) {
      // A sized response ends itself when tryEnd has sent `total` bytes (maybe after a pending retry).
      if (this.ended) this.account();
      else this.endRequested = true;
      return;
    }
    if (this.ended) return;
    this.ended = true;
    this.res.cork(() => this.res.end(undefined, this.core.closing));
    this.account();
  }

  destroy(): void {
    if (this.ended) return;
    this.res.close(); // runs onAborted → handleAbort
  }

  private writable(offset: number): boolean {
    if (this.aborted) return true;
    if (this.pending !== null) {
      const [sent, done] = this.res.tryEnd(this.pending.subarray(offset - this.pendingOffset), this.total);
      if (done) {
        this.ended = true;
        this.pending = null;
        if (this.endRequested) this.account();
      } else if (!sent) return false;
      this.pending = null;
    }
    const resume = this.resume;
    this.resume = null;
    resume?.();
    return true;
  }

  private account(): void {
    if (this.accounted) return;
    this.accounted = true;
    this.core.end(record(this.core, this.seen, this.status, this.bytes, this.proxied));
  }
}

/**
 * uWS hands over header values decoded as UTF-8, so the head must be written as UTF-8 to keep
 * the client's bytes. But Node's latin1 write path is markedly cheaper (measured: ~3 µs per
 * proxied request), and for the usual all-ASCII head the two are byte-identical.
 */
function encodingOf(head: string): BufferEncoding {
  return Buffer.byteLength(head, 'utf8') === head.length ? 'latin1' : 'utf8';
}

function forward(core: FrontCore, exchange: UwsExchange, headers: string[], body: Buffer | null): void {
  const seen = exchange.seen;
  const head = core.upstreamHead({ method: seen.method, target: seen.target, headers, clientAddress: seen.client }, body, seen.requestId);
  exchange.proxied = core.proxy!.forward(seen.method, head, encodingOf(head), body, seen.receivedAt, core.responseSink(exchange, seen.method, headers));
}

function proxyRequest(core: FrontCore, res: HttpResponse, req: HttpRequest, seen: Seen): void {
  collected = [];
  req.forEach(collect);
  const headers = collected;
  seen.requestId = core.requestId(headers, seen.client);
  if (core.accessLog.enabled) {
    seen.referer = req.getHeader('referer');
    seen.userAgent = req.getHeader('user-agent');
  }
  const exchange = new UwsExchange(core, res, seen);
  res.onAborted(() => exchange.handleAbort());
  const framing = checkFraming(headers, false);
  if (!framing.ok) return exchange.refuse(400, framing.reason);
  const { maxBodySize, bodyTimeoutMs } = core.settings.client;
  if (framing.contentLength > maxBodySize) {
    return exchange.refuse(413, `Payload too large: the body is ${framing.contentLength} bytes, the limit is ${maxBodySize}.`);
  }
  if (framing.contentLength <= 0 && !framing.chunked) return forward(core, exchange, headers, null);

  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  if (bodyTimeoutMs > 0) {
    exchange.bodyTimer = setTimeout(() => {
      settled = true;
      exchange.refuse(408, `Request timeout: no body data for ${bodyTimeoutMs} ms.`);
    }, bodyTimeoutMs);
  }
  res.onData((data, isLast) => {
    if (settled || exchange.aborted) return;
    size += data.byteLength;
    if (size > maxBodySize) {
      settled = true;
      return exchange.refuse(413, `Payload too large: the body exceeds the limit of ${maxBodySize} bytes.`);
    }
    if (data.byteLength > 0) chunks.push(Buffer.from(data.slice(0))); // copy: uWS neuters the buffer
    if (!isLast) {
      exchange.bodyTimer?.refresh();
      return;
    }
    settled = true;
    if (exchange.bodyTimer !== null) clearTimeout(exchange.bodyTimer);
    exchange.bodyTimer = null;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    // Forward only once uWS has finished parsing this read: if what follows the body is
    // malformed, uWS closes the connection first and the request is never forwarded.
    setImmediate(() => {
      if (!exchange.aborted) forward(core, exchange, headers, body);
    });
  });
}

function handle(core: FrontCore, res: HttpResponse, req: HttpRequest): void {
  const receivedAt = performance.now();
  core.begin();
  const rawMethod = req.getMethod();
  const method = METHODS.get(rawMethod) ?? rawMethod.toUpperCase();
  const url = req.getUrl();
  const query = req.getQuery();
  const target = query === undefined ? url : url + '?' + query;
  const logging = core.accessLog.enabled;
  const route = core.route(target);
  if (route.kind === 'proxy') {
    const seen: Seen = { client: addressOf(res), method, target, referer: '', userAgent: '', receivedAt, requestId: '' };
    return proxyRequest(core, res, req, seen);
  }
  const requestId = core.requestIdOf(req.getHeader('x-request-id'), () => addressOf(res));
  const seen: Seen | null = logging
    ? { client: addressOf(res), method, target, referer: req.getHeader('referer'), userAgent: req.getHeader('user-agent'), receivedAt, requestId }
    : null;
  let reply: StaticReply;
  if (route.kind === 'reply') reply = route.reply;
  else {
    current = req;
    reply = core.statics.respond(route.mount, route.path, method, readHeader, receivedAt);
    current = null;
  }
  if (reply.file !== null && !reply.head) {
    return streamFile(core, res, reply, seen ?? { client: '-', method, target, referer: '', userAgent: '', receivedAt, requestId });
  }
  if (reply.body !== null && reply.body.length > LARGE_BODY && !reply.head) {
    return sendLarge(core, res, reply, seen ?? { client: '-', method, target, referer: '', userAgent: '', receivedAt, requestId });
  }
  writeReply(core, res, reply, core.closing || reply.status === 400, requestId);
  core.end(seen === null ? null : record(core, seen, reply.status, reply.head || reply.body === null ? 0 : reply.length, null));
}

/**
 * The client's IP address as text. uWS's address getters each allocate an ArrayBuffer (~0.7 µs);
 * formatting the binary IPv4 form here is cheaper than decoding its text form.
 */
function addressOf(res: HttpResponse): string {
  const bytes = new Uint8Array(res.getRemoteAddress());
  if (bytes.length === 4) return bytes[0] + '.' + bytes[1] + '.' + bytes[2] + '.' + bytes[3];
  if (bytes.length === 16 && bytes[10] === 0xff && bytes[11] === 0xff && bytes[0] === 0 && bytes[9] === 0) {
    return bytes[12] + '.' + bytes[13] + '.' + bytes[14] + '.' + bytes[15]; // IPv4-mapped IPv6
  }
  return Buffer.from(res.getRemoteAddressAsText()).toString('latin1');
}

/** The uWebSockets.js client side for `core` (uWS's SSLApp when `core.settings.tls` is set). Throws if the native binary cannot be loaded. */
export function createUwsListener(core: FrontCore): FrontListener {
  const uws = loadUws();
  const makeApp = (): TemplatedApp => {
    const tls = core.settings.tls;
    const app = tls === null ? uws.App() : withTlsFiles(tls, (files) => uws.SSLApp({ ...files, ssl_ciphers: TLS12_CIPHERS }));
    app.any('/*', (res, req) => handle(core, res, req));
    return app;
  };
  let app = makeApp();
  /** Apps replaced by a certificate reload, still serving the connections they accepted. */
  const retired: TemplatedApp[] = [];
  let token: us_listen_socket | null = null;
  let credentials = core.settings.tls;
  let bound: { host: string; port: number } | null = null;
  // The native binding takes (host, port, options, callback); the bundled typings lack that form.
  const listenOn = (target: TemplatedApp, host: string, port: number, options: number): Promise<us_listen_socket> =>
    new Promise((resolve, reject) => {
      const listen = target.listen as unknown as (h: string, p: number, o: number, cb: (s: us_listen_socket | false) => void) => void;
      listen.call(target, host, port, options, (socket) => (socket ? resolve(socket) : reject(new Error(`cannot listen on ${host}:${port} (address in use?)`))));
    });
  return {
    engine: 'uws',
    async listen(host: string, port: number): Promise<number> {
      // LIBUS_LISTEN_EXCLUSIVE_PORT: uWS shares ports (SO_REUSEPORT) by default, so a stale
      // front still listening would silently take half the connections (peers gotcha 3). Over
      // TLS the port must stay shareable: a certificate reload hands it to a new SSLApp (uWS
      // cannot swap an app's certificate), so the port is checked free first instead.
      if (credentials !== null) await ensurePortFree(host, port);
      token = await listenOn(app, host, port, credentials === null ? EXCLUSIVE_PORT : 0);
      const actual = uws.us_socket_local_port(token);
      bound = { host, port: actual };
      return actual;
    },
    applySettings(): void {
      // uWS's timeouts and header limit are compiled in; limits in `core.settings` apply live.
      const next = core.settings.tls;
      if (next === null || next === credentials || bound === null || token === null) return;
      // New certificate: a new SSLApp takes over the port, the old one keeps its open connections.
      const fresh = makeApp();
      const previous = token;
      listenOn(fresh, bound.host, bound.port, 0).then(
        (socket) => {
          if (token !== previous) {
            uws.us_listen_socket_close(socket); // shut down meanwhile
            return;
          }
          uws.us_listen_socket_close(previous);
          retired.push(app);
          app = fresh;
          token = socket;
          credentials = next;
        },
        (error: Error) => core.errorLog(`TLS reload: the new certificate could not take over the port, keeping the old one: ${error.message}`),
      );
    },
    stopAccepting(): void {
      if (token !== null) uws.us_listen_socket_close(token);
      token = null;
    },
    closeAll(): void {
      // Present in this build's binary (closes every socket), missing from its typings.
      for (const each of [...retired, app]) (each as unknown as { close(): void }).close();
    },
  };
}

/** Resolve if `host:port` can be bound exclusively right now (port 0 always can). */
function ensurePortFree(host: string, port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => reject(new Error(`cannot listen on ${host}:${port} (${error.code ?? error.message})`)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
