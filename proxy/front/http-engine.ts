/**
 * The client side on node:http. Requests are read by the gate (wire/http1/node-http-gate.ts) with
 * the net engine's parser, limits and timeouts, so both engines accept and refuse the same
 * requests with the same status, serve HTTP/1.0 and answer pipelined requests in order; bodies
 * arrive whole. node:http writes the responses. This file routes each request to the static files
 * or the proxy, as net-engine.ts does, and writes the reply with writeHead(status, flatList) and a
 * single end().
 */
import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net, { type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream';
import { fieldReader, textReply, type StaticReply } from '../static/static-files.ts';
import type { ClientSink, ProxyRecord } from '../upstream/proxy.ts';
import { newRequestId } from '../upstream/request-id.ts';
import type { AccessRecord } from '../../wire/access-log.ts';
import { closingReply, plainBody, TEXT_PLAIN } from '../../wire/plain-reply.ts';
import { admitted, closeIdleConnections, installGate } from '../../wire/http1/node-http-gate.ts';
import type { RequestHead } from '../../wire/http1/request-head.ts';
import { parserRefusal } from '../../wire/refusal.ts';
import type { FrontCore } from './core.ts';
import type { FrontListener } from './listener.ts';
import { wireSettings } from './net-engine.ts';
import { logRefusal } from './refusal-log.ts';
import { prepareTlsServer, replaceCredentials, tlsServerOptions } from '../tls/server.ts';

function accessRecord(
  core: FrontCore,
  req: IncomingMessage,
  head: RequestHead,
  status: number,
  bytes: number,
  receivedAt: number,
  proxied: ProxyRecord | null,
  requestId: string,
): AccessRecord | null {
  if (!core.accessLog.enabled) return null;
  return core.record(req.socket.remoteAddress ?? '-', head.method, head.target, head.minor, head.headers, status, bytes, receivedAt, proxied, requestId);
}

/** Write a StaticReply (static file, redirect or error); `close` ends the connection after it. */
function sendReply(core: FrontCore, req: IncomingMessage, head: RequestHead, res: ServerResponse, reply: StaticReply, receivedAt: number, requestId: string, close = false): void {
  const headers = core.decorate(reply.headers.slice(), requestId);
  if (reply.length >= 0) headers.push('Content-Length', String(reply.length));
  if (close) {
    res.shouldKeepAlive = false;
    headers.push('Connection', 'close');
  }
  res.writeHead(reply.status, headers);
  if (reply.file !== null && !reply.head) return streamFile(core, req, head, res, reply, receivedAt, requestId);
  res.end(reply.head || reply.body === null ? undefined : reply.body);
  const sendTimeout = core.settings.client.sendTimeoutMs;
  if (sendTimeout > 0 && !reply.head && reply.body !== null && reply.body.length > LARGE_BODY) cutIfStalled(req.socket, res, sendTimeout);
  core.end(accessRecord(core, req, head, reply.status, reply.head || reply.body === null ? 0 : reply.body.length, receivedAt, null, requestId));
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
function streamFile(core: FrontCore, req: IncomingMessage, head: RequestHead, res: ServerResponse, reply: StaticReply, receivedAt: number, requestId: string): void {
  const stream = createReadStream(reply.file!, { start: reply.start, end: reply.end, highWaterMark: 256 * 1024 });
  const sendTimeout = core.settings.client.sendTimeoutMs;
  if (sendTimeout > 0) res.setTimeout(sendTimeout, () => res.destroy());
  pipeline(stream, res, (error) => {
    if (error) core.errorLog(`static file ${reply.file}: ${error.message}`);
    core.end(accessRecord(core, req, head, error ? 499 : reply.status, error ? res.socket?.bytesWritten ?? 0 : reply.length, receivedAt, null, requestId));
  });
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
    private readonly head: RequestHead,
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
    const send = length >= 0 && this.head.method !== 'HEAD';
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
    this.core.end(accessRecord(this.core, this.req, this.head, status, this.bytes, this.receivedAt, this.record, this.requestId));
  }
}

function handle(core: FrontCore, req: IncomingMessage, res: ServerResponse): void {
  // The request as the gate read and checked it (req carries only a canonical stand-in head).
  const gate = admitted(req, res);
  const head = gate.head!;
  const body = gate.body;
  const receivedAt = gate.receivedAt;
  core.begin();
  if (core.closing) res.shouldKeepAlive = false;
  const clientAddress = gate.remoteAddress;
  const requestId = core.requestId(head.headers, clientAddress);
  const route = head.target === '*' ? (core.proxy !== null ? core.proxyRoute : core.route('*')) : core.route(head.target);
  if (route.kind === 'proxy') {
    const upstreamHead = core.upstreamHead({ method: head.method, target: head.target, headers: head.headers, clientAddress, host: head.host }, body, requestId);
    const limit = core.settings.client.maxHeaderSize;
    if (upstreamHead.length > limit) {
      // Within the limit from the client, past it with the front's own fields: the app server,
      // whose limit is the same, could not read it (each layer's limits sit inside the next's).
      const reply = textReply(431, `Request header fields too large: with the forwarding fields the request head is larger than ${limit} bytes.`);
      return sendReply(core, req, head, res, reply, receivedAt, requestId, true);
    }
    const exchange = new NodeExchange(core, req, head, res, receivedAt, requestId);
    exchange.record = core.proxy!.forward(head.method, upstreamHead, 'latin1', body, receivedAt, core.responseSink(exchange, head.method, head.headers));
    return;
  }
  if (route.kind === 'reply') return sendReply(core, req, head, res, route.reply, receivedAt, requestId, route.reply.status === 400);
  const reply = core.statics.respond(route.mount, route.path, head.method, fieldReader(head.headers), receivedAt);
  sendReply(core, req, head, res, reply, receivedAt, requestId);
}

/** What llhttp still reports (the gate answers every malformed request before it): time-outs, resets. */
function refuseUnparsed(core: FrontCore, error: NodeJS.ErrnoException, socket: Socket): void {
  const refusal = parserRefusal(error, socket.writable, core.settings.client.maxHeaderSize);
  if (refusal === null) {
    socket.destroy();
    return;
  }
  const { status, reason: detail } = refusal;
  const requestId = newRequestId();
  core.errorLog(`refused ${status} from ${socket.remoteAddress} (request ${requestId}): ${detail}`);
  socket.end(closingReply(status, TEXT_PLAIN, detail + '\n', ['X-Request-Id', requestId, ...core.extraHeaders]));
}

/** The node:http client side for `core` (node:https when `core.settings.tls` is set). */
export function createHttpListener(core: FrontCore): FrontListener {
  const client = core.settings.client;
  const options: http.ServerOptions = {
    maxHeaderSize: client.maxHeaderSize,
    // The gate checks Host and enforces the head and body timeouts (between reads, like Nginx):
    // llhttp only ever sees a complete canonical head, with no fields. node:http's own head clock
    // would run from the connection's start while the gate holds a body, so it is off.
    headersTimeout: 0,
    requestTimeout: 0,
    keepAliveTimeout: client.keepAliveTimeoutMs,
    requireHostHeader: false,
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => handle(core, req, res);
  const tls = core.settings.tls;
  const server: http.Server = tls === null ? http.createServer(options, handler) : https.createServer({ ...options, ...tlsServerOptions(tls, client.headerTimeoutMs) }, handler);
  if (tls !== null) prepareTlsServer(server as https.Server, core.errorLog);
  let settings = wireSettings(core);
  installGate(server, {
    get settings() {
      return settings;
    },
    onRefused: (failure, head, remoteAddress, requestLine) => logRefusal(core, failure, head, remoteAddress, requestLine),
    onError: (error, remoteAddress) => {
      core.errorLog(`internal error answering ${remoteAddress}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    },
  }, tls !== null);
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
      settings = wireSettings(core);
      server.keepAliveTimeout = next.keepAliveTimeoutMs;
      const tlsNow = core.settings.tls;
      if (tlsNow !== null && tlsNow !== credentials) {
        // New handshakes use the new certificate; open connections keep theirs.
        replaceCredentials(server as https.Server, tlsNow.options);
        credentials = tlsNow;
      }
    },
    stopAccepting(): void {
      // The listener only: http.Server.close() would also close every connection node:http
      // counts idle, including those whose request the gate is still reading.
      net.Server.prototype.close.call(server);
      closeIdleConnections(server);
    },
    closeAll(): void {
      server.closeAllConnections();
      server.close(); // nothing left to close but node:http's connection-check timer
    },
  };
}
