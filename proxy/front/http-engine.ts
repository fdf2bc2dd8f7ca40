/**
 * The client side on node:http. llhttp parses the requests (and already refuses much malformed
 * framing: clientError below answers those with 400/408/431); this file routes each request to the
 * static files or the proxy and writes the reply.
 *
 * Headers are read from `req.rawHeaders` (a flat list Node has anyway) rather than `req.headers`,
 * which Node builds lazily as an object only if asked; replies are written with writeHead(status,
 * flatList) and a single end().
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream';
import { textReply, type StaticReply } from '../static/static-files.ts';
import type { ClientSink, ProxyRecord } from '../upstream/proxy.ts';
import type { AccessRecord } from '../../wire/access-log.ts';
import { closingReply, plainBody, TEXT_PLAIN } from '../../wire/plain-reply.ts';
import { requestFailure } from '../../wire/http1/failure.ts';
import { bodyTimeout, bodyTooLarge, parserRefusal, type Refusal } from '../../wire/refusal.ts';
import type { FrontCore } from './core.ts';
import { checkFraming } from './framing.ts';
import type { FrontListener } from './listener.ts';
import { tlsServerOptions, watchHandshakes } from '../tls/server.ts';

function headerOf(req: IncomingMessage, lowerCaseName: string): string {
  const value = req.headers[lowerCaseName];
  return value === undefined ? '' : Array.isArray(value) ? value.join(', ') : value;
}

function accessRecord(
  core: FrontCore,
  req: IncomingMessage,
  status: number,
  bytes: number,
  receivedAt: number,
  proxied: ProxyRecord | null,
  requestId: string,
): AccessRecord | null {
  if (!core.accessLog.enabled) return null;
  const request = { client: req.socket.remoteAddress ?? '-', method: req.method ?? '-', target: req.url ?? '-', httpVersion: req.httpVersion, headers: req.rawHeaders };
  return core.record(request, status, bytes, receivedAt, proxied, requestId);
}

/** Write a StaticReply (static file, redirect or error); `close` ends the connection after it. */
function sendReply(core: FrontCore, req: IncomingMessage, res: ServerResponse, reply: StaticReply, receivedAt: number, requestId: string, close = false): void {
  const headers = core.decorate(reply.headers.slice(), requestId);
  if (reply.length >= 0) headers.push('Content-Length', String(reply.length));
  if (close) {
    res.shouldKeepAlive = false;
    headers.push('Connection', 'close');
  }
  res.writeHead(reply.status, headers);
  if (reply.file !== null && !reply.head) return streamFile(core, req, res, reply, receivedAt, requestId);
  res.end(reply.head || reply.body === null ? undefined : reply.body);
  const sendTimeout = core.settings.client.sendTimeoutMs;
  if (sendTimeout > 0 && !reply.head && reply.body !== null && reply.body.length > LARGE_BODY) cutIfStalled(req.socket, res, sendTimeout);
  core.end(accessRecord(core, req, reply.status, reply.head || reply.body === null ? 0 : reply.body.length, receivedAt, null, requestId));
}

/** Bodies from memory at least this large may not fit the socket's buffers: they get the send timeout. */
const LARGE_BODY = 64 * 1024;

/**
 * Cut `socket` once it has held unsent bytes for `ms` with no progress (no 'drain') while `res`, a
 * body from memory, is not yet sent: Nginx's send_timeout, between two successive writes. Not
 * the socket's own idle timeout: node:http re-arms that for every request it parses, so a client
 * that pipelined its requests and stopped reading was held until it read again, and got everything.
 */
function cutIfStalled(socket: Socket, res: ServerResponse, ms: number): void {
  let lastProgress = performance.now();
  let timer: NodeJS.Timeout;
  const onDrain = (): void => {
    lastProgress = performance.now();
  };
  const done = (): void => {
    clearTimeout(timer);
    socket.off('drain', onDrain);
    socket.off('close', done);
  };
  const check = (): void => {
    if (socket.destroyed || (res.writableFinished && socket.writableLength === 0)) return done();
    if (socket.writableLength === 0) lastProgress = performance.now(); // nothing waits on the client now
    const still = performance.now() - lastProgress;
    if (socket.writableLength > 0 && still >= ms) {
      done();
      return void socket.destroy();
    }
    timer = setTimeout(check, socket.writableLength > 0 ? Math.max(50, ms - still) : ms);
    timer.unref();
  };
  timer = setTimeout(check, ms);
  timer.unref();
  socket.on('drain', onDrain);
  socket.on('close', done);
}

/** Files too large for the cache: stream from disk; pipeline gives backpressure and cleanup. */
function streamFile(core: FrontCore, req: IncomingMessage, res: ServerResponse, reply: StaticReply, receivedAt: number, requestId: string): void {
  const stream = createReadStream(reply.file!, { start: reply.start, end: reply.end, highWaterMark: 256 * 1024 });
  const sendTimeout = core.settings.client.sendTimeoutMs;
  if (sendTimeout > 0) res.setTimeout(sendTimeout, () => res.destroy());
  pipeline(stream, res, (error) => {
    if (error) core.errorLog(`static file ${reply.file}: ${error.message}`);
    core.end(accessRecord(core, req, error ? 499 : reply.status, error ? res.socket?.bytesWritten ?? 0 : reply.length, receivedAt, null, requestId));
  });
}

/**
 * Connections a refusal has condemned. llhttp keeps parsing what the client pipelined after the
 * refused request (e.g. the hidden request after an ambiguous body); those requests must never be
 * handled. The refusal carries `Connection: close`, so Node ends the connection after it.
 */
const REFUSED = new WeakSet<Socket>();

function refuse(core: FrontCore, req: IncomingMessage, res: ServerResponse, refusal: Refusal, receivedAt: number, requestId: string): void {
  REFUSED.add(req.socket);
  core.errorLog(`refused ${refusal.status} ${req.method} ${req.url} from ${req.socket.remoteAddress} (request ${requestId}): ${refusal.reason}`);
  sendReply(core, req, res, textReply(refusal.status, refusal.reason), receivedAt, requestId, true);
}

/** A proxied request's response side on node:http. */
class NodeExchange implements ClientSink {
  aborted = false;
  onAbort: (() => void) | null = null;
  record: ProxyRecord | null = null;
  private status = 0;
  private bytes = 0;
  private finished = false;

  constructor(
    private readonly core: FrontCore,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly receivedAt: number,
    private readonly requestId: string,
  ) {
    res.on('close', () => {
      if (!res.writableFinished) {
        this.aborted = true;
        const onAbort = this.onAbort;
        this.onAbort = null;
        onAbort?.();
      }
      this.finish();
    });
  }

  complete(status: number, reason: string, headers: string[], body: Buffer, length: number): void {
    this.status = status;
    this.core.decorate(headers, this.requestId);
    if (length >= 0) headers.push('Content-Length', String(length));
    if (!this.writeHead(status, reason, headers)) return;
    const send = length >= 0 && this.req.method !== 'HEAD';
    if (send) this.bytes = body.length;
    // `body` is a view of the proxy's shared read buffer: Node may queue it, so copy.
    this.res.end(send ? Buffer.from(body) : undefined);
  }

  start(status: number, reason: string, headers: string[], length: number): void {
    this.status = status;
    this.core.decorate(headers, this.requestId);
    if (length >= 0) headers.push('Content-Length', String(length));
    this.writeHead(status, reason, headers);
  }

  write(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    return this.res.write(Buffer.from(chunk)); // a view of the shared read buffer: copy
  }

  whenWritable(resume: () => void): void {
    this.res.once('drain', resume);
  }

  end(): void {
    this.res.end();
  }

  destroy(): void {
    this.res.destroy();
  }

  private writeHead(status: number, reason: string, headers: string[]): boolean {
    try {
      if (reason === '') this.res.writeHead(status, headers);
      else this.res.writeHead(status, reason, headers);
      return true;
    } catch (error) {
      // Node refuses header values it considers invalid; the client gets a clear 502 instead.
      this.core.errorLog(`invalid response header from upstream: ${(error as Error).message}`);
      const body = plainBody('Bad Gateway: the upstream server sent an invalid response header.');
      this.status = 502;
      this.res.writeHead(502, this.core.decorate(['Content-Type', TEXT_PLAIN, 'Content-Length', String(body.length)], this.requestId));
      this.res.end(body);
      return false;
    }
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    const status = this.aborted ? 499 : this.status;
    this.core.end(accessRecord(this.core, this.req, status, this.bytes, this.receivedAt, this.record, this.requestId));
  }
}

function forward(core: FrontCore, req: IncomingMessage, res: ServerResponse, body: Buffer | null, receivedAt: number, requestId: string): void {
  const method = req.method!;
  const headers = req.rawHeaders;
  const head = core.upstreamHead({ method, target: req.url!, headers, clientAddress: req.socket.remoteAddress ?? '' }, body, requestId);
  const limit = core.settings.client.maxHeaderSize;
  if (head.length > limit) {
    return refuse(core, req, res, requestFailure('head-too-large', `Request header fields too large: with the forwarding fields the request head is larger than ${limit} bytes.`), receivedAt, requestId);
  }
  const exchange = new NodeExchange(core, req, res, receivedAt, requestId);
  exchange.record = core.proxy!.forward(method, head, 'latin1', body, receivedAt, core.responseSink(exchange, method, headers));
}

/** Check framing and size, buffer the body (proxy_request_buffering), then forward. */
function proxyRequest(core: FrontCore, req: IncomingMessage, res: ServerResponse, receivedAt: number, requestId: string): void {
  const framing = checkFraming(req.rawHeaders, req.httpVersion === '1.0');
  if ('failed' in framing) return refuse(core, req, res, framing, receivedAt, requestId);
  const { maxBodySize, bodyTimeoutMs } = core.settings.client;
  if (framing.contentLength > maxBodySize) {
    return refuse(core, req, res, bodyTooLarge(maxBodySize, framing.contentLength), receivedAt, requestId);
  }
  if (framing.contentLength <= 0 && !framing.chunked) return forward(core, req, res, null, receivedAt, requestId);

  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const timer = bodyTimeoutMs > 0
    ? setTimeout(() => {
        if (settled) return;
        settled = true;
        refuse(core, req, res, bodyTimeout(bodyTimeoutMs), receivedAt, requestId);
      }, bodyTimeoutMs)
    : null;
  req.on('data', (chunk: Buffer) => {
    if (settled) return;
    size += chunk.length;
    if (size > maxBodySize) {
      settled = true;
      if (timer !== null) clearTimeout(timer);
      return refuse(core, req, res, bodyTooLarge(maxBodySize), receivedAt, requestId);
    }
    chunks.push(chunk);
    timer?.refresh();
  });
  req.on('end', () => {
    if (settled) return;
    settled = true;
    if (timer !== null) clearTimeout(timer);
    forward(core, req, res, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), receivedAt, requestId);
  });
  req.on('close', () => {
    if (settled) return;
    // The client went away mid-body: nothing was sent upstream, nothing to clean up there.
    settled = true;
    if (timer !== null) clearTimeout(timer);
    core.end(accessRecord(core, req, 499, 0, receivedAt, null, requestId));
  });
}

function handle(core: FrontCore, req: IncomingMessage, res: ServerResponse): void {
  if (REFUSED.has(req.socket)) return; // pipelined behind a refused request: never answered
  const receivedAt = performance.now();
  core.begin();
  if (core.closing) res.shouldKeepAlive = false;
  const requestId = core.requestId(req.rawHeaders, req.socket.remoteAddress ?? '');
  // What llhttp lets through but the net engine's parser refuses: other versions, too many
  // fields (the app server behind must be able to read what is forwarded), a malformed Host.
  if (req.httpVersion !== '1.1' && req.httpVersion !== '1.0') {
    const supported = req.httpVersionMajor === 1 || req.httpVersionMajor > 1;
    return refuse(core, req, res, requestFailure(supported ? 'version-unsupported' : 'version', `HTTP version ${req.httpVersion} is not supported; this server speaks HTTP/1.0 and HTTP/1.1.`), receivedAt, requestId);
  }
  const maxFields = core.settings.client.maxHeaderFields;
  if (req.rawHeaders.length > maxFields * 2) {
    return refuse(core, req, res, requestFailure('too-many-fields', `Request header fields too large: more than ${maxFields} header fields.`), receivedAt, requestId);
  }
  const host = req.headers.host;
  if (host !== undefined && !/^[A-Za-z0-9\-._~!$&'()*+,;=:[\]%]*$/.test(host)) {
    return refuse(core, req, res, requestFailure('host', 'Bad request: invalid Host header.'), receivedAt, requestId);
  }
  const route = core.route(req.url!);
  if (route.kind === 'proxy') return proxyRequest(core, req, res, receivedAt, requestId);
  if (route.kind === 'reply') {
    if (route.reply.status === 400) REFUSED.add(req.socket);
    return sendReply(core, req, res, route.reply, receivedAt, requestId, route.reply.status === 400);
  }
  const reply = core.statics.respond(route.mount, route.path, req.method!, (name) => headerOf(req, name), receivedAt);
  sendReply(core, req, res, reply, receivedAt, requestId);
}

/** Answer what llhttp refused before a request object existed (400 / 408 / 431), then close. */
function refuseUnparsed(core: FrontCore, error: NodeJS.ErrnoException, socket: Socket): void {
  const refusal = parserRefusal(error, socket.writable, core.settings.client.maxHeaderSize);
  if (refusal === null) {
    socket.destroy();
    return;
  }
  const { status, reason: detail } = refusal;
  const requestId = randomUUID();
  core.errorLog(`refused ${status} from ${socket.remoteAddress} (request ${requestId}): ${detail}`);
  socket.end(closingReply(status, TEXT_PLAIN, detail + '\n', ['X-Request-Id', requestId, ...core.extraHeaders]));
}

/** The node:http client side for `core` (node:https when `core.settings.tls` is set). */
export function createHttpListener(core: FrontCore): FrontListener {
  const client = core.settings.client;
  const options: http.ServerOptions = {
    maxHeaderSize: client.maxHeaderSize,
    headersTimeout: client.headerTimeoutMs,
    requestTimeout: 0, // the body timeout is ours (between reads, like Nginx), not a whole-request cap
    keepAliveTimeout: client.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, client.headerTimeoutMs / 4)),
    requireHostHeader: true,
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => handle(core, req, res);
  const tls = core.settings.tls;
  const server: http.Server = tls === null ? http.createServer(options, handler) : https.createServer({ ...options, ...tlsServerOptions(tls, client.headerTimeoutMs) }, handler);
  if (tls !== null) watchHandshakes(server as https.Server, core.errorLog);
  let credentials = tls;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => refuseUnparsed(core, error, socket));
  return {
    engine: 'http',
    listen(host: string, port: number): Promise<number> {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address();
          resolve(typeof address === 'object' && address !== null ? address.port : port);
        });
      });
    },
    applySettings(): void {
      const next = core.settings.client;
      server.headersTimeout = next.headerTimeoutMs;
      server.keepAliveTimeout = next.keepAliveTimeoutMs;
      const tlsNow = core.settings.tls;
      if (tlsNow !== null && tlsNow !== credentials) {
        // New handshakes use the new certificate; open connections keep theirs.
        (server as https.Server).setSecureContext(tlsNow.options);
        credentials = tlsNow;
      }
    },
    stopAccepting(): void {
      server.close();
      server.closeIdleConnections();
    },
    closeAll(): void {
      server.closeAllConnections();
    },
  };
}
