/**
 * The client side on the project's own HTTP/1.1 server (wire/http1/, over node:net): the default
 * engine. The wire layer parses, checks limits and framing, buffers bodies, answers refusals and
 * keeps responses in request order; this file only routes each complete request to the static
 * files or the proxy and writes the answer.
 *
 * Why not uWebSockets.js, which was the default: its parser (v20.30, the last build that loads
 * on glibc 2.36) holds HTTP/1.0 requests without an answer, cuts pipelined requests whose
 * predecessor is answered asynchronously, closes malformed and oversized requests without a
 * status and accepts malformed chunked bodies, all before any JavaScript runs, so none of it can
 * be fixed from here. bench/RESULTS.md has the side-by-side measurement behind the choice.
 */
import { createReadStream } from 'node:fs';
import { Http1Server } from '../../wire/http1/server.ts';
import type { Http1Settings } from '../../wire/http1/handler.ts';
import type { RequestHead } from '../../wire/http1/request-head.ts';
import type { Http1Response } from '../../wire/http1/response.ts';
import { PreparedField } from '../../wire/http1/prepared-response.ts';
import type { RequestFailure } from '../../wire/http1/failure.ts';
import type { Http1Connection } from '../../wire/http1/connection.ts';
import { fieldReader } from '../static/static-files.ts';
import type { StaticReply } from '../static/static-files.ts';
import type { ClientSink, ProxyRecord } from '../upstream/proxy.ts';
import { logRefusal } from './refusal-log.ts';
import type { FrontCore } from './core.ts';
import type { FrontListener } from './listener.ts';
import { prepareTlsServer, replaceCredentials, tlsServerOptions } from '../tls/server.ts';
import { isFrontProcess } from '../front-processes.ts';
import { plainBody, TEXT_PLAIN } from '../../wire/plain-reply.ts';

/** The wire settings for the front's client settings. */
export function wireSettings(core: FrontCore): Http1Settings {
  const client = core.settings.client;
  return {
    maxHeaderSize: client.maxHeaderSize,
    maxRequestLine: client.maxRequestLine,
    maxHeaderFields: client.maxHeaderFields,
    maxBodySize: client.maxBodySize,
    headerTimeoutMs: client.headerTimeoutMs,
    bodyTimeoutMs: client.bodyTimeoutMs,
    keepAliveTimeoutMs: client.keepAliveTimeoutMs,
    sendTimeoutMs: client.sendTimeoutMs,
  };
}


const REQUEST_ID_FIELD = new PreparedField('X-Request-Id');

/** Write a StaticReply: in memory, or streamed from disk with backpressure. */
function sendReply(core: FrontCore, res: Http1Response, reply: StaticReply, requestId: string): void {
  // A cached file's 200, serialized once: the same fields as below (core.decorate), added as bytes.
  if (reply.prepared !== null) return res.sendPrepared(reply.prepared, REQUEST_ID_FIELD, requestId, core.extraHeaders);
  const reason = reply.statusLine.slice(4);
  if (reply.status === 400) res.keepAlive = false;
  const headers = core.decorate(reply.headers.slice(), requestId);
  if (reply.file === null || res.method === 'HEAD') return res.send(reply.status, reason, headers, reply.body, reply.length);
  res.start(reply.status, reason, headers, reply.length);
  const stream = createReadStream(reply.file, { start: reply.start, end: reply.end, highWaterMark: 256 * 1024 });
  res.onAbort = () => stream.destroy();
  stream.on('data', (chunk) => {
    if (!res.write(chunk as Buffer, true)) {
      stream.pause();
      res.whenWritable(() => stream.resume());
    }
  });
  stream.on('end', () => res.end());
  stream.on('error', (error) => {
    core.errorLog(`static file ${reply.file}: ${error.message}`);
    res.destroy();
  });
}

/**
 * One request on this engine: the proxy's ClientSink over its Http1Response, and what its
 * access-log line needs once the response is over. One object (and one callback) per request:
 * the access log's record is read from it, not gathered into more objects along the way.
 */
class NetExchange implements ClientSink {
  /** What the proxy did, for the log (null: the front answered itself). */
  proxied: ProxyRecord | null = null;

  constructor(
    private readonly core: FrontCore,
    private readonly head: RequestHead,
    private readonly res: Http1Response,
    readonly requestId: string,
  ) {
    // Accounted from here on, whatever happens next: the in-flight count graceful shutdown waits
    // for comes down when the response is over, even one a bug cut short.
    res.onFinish = () => this.finished();
  }

  /** The response is over: log it. */
  private finished(): void {
    const core = this.core;
    if (!core.accessLog.enabled) return core.end(null);
    const head = this.head;
    const res = this.res;
    core.end(core.record(res.connection.remoteAddress, head.method, head.target, head.minor, head.headers, res.aborted ? 499 : res.status, res.bytes, res.receivedAt, this.proxied, this.requestId));
  }

  get aborted(): boolean {
    return this.res.aborted;
  }

  get onAbort(): (() => void) | null {
    return this.res.onAbort;
  }

  set onAbort(callback: (() => void) | null) {
    this.res.onAbort = callback;
  }

  complete(status: number, reason: string, headers: string[], body: Buffer, length: number): void {
    this.res.send(status, reason, this.core.decorate(headers, this.requestId), body, length);
  }

  start(status: number, reason: string, headers: string[], length: number): void {
    this.res.start(status, reason, this.core.decorate(headers, this.requestId), length);
  }

  write(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }

  whenWritable(resume: () => void): void {
    this.res.whenWritable(resume);
  }

  end(): void {
    this.res.end();
  }

  destroy(): void {
    this.res.destroy();
  }
}

function handle(core: FrontCore, head: RequestHead, body: Buffer | null, res: Http1Response): void {
  core.begin();
  const clientAddress = res.connection.remoteAddress;
  const requestId = core.requestId(head.headers, clientAddress);
  const exchange = new NetExchange(core, head, res, requestId);
  const route = head.target === '*' ? (core.proxy !== null ? core.proxyRoute : core.route('*')) : core.route(head.target);
  if (route.kind === 'proxy') {
    const upstreamHead = core.upstreamHead({ method: head.method, target: head.target, headers: head.headers, clientAddress, host: head.host }, body, requestId);
    const limit = core.settings.client.maxHeaderSize;
    if (upstreamHead.length > limit) {
      // Within the limit from the client, past it with the front's own fields: the app server,
      // whose limit is the same, could not read it (each layer's limits sit inside the next's).
      res.keepAlive = false;
      const text = plainBody(`Request header fields too large: with the forwarding fields the request head is larger than ${limit} bytes.`);
      return res.send(431, '', core.decorate(['Content-Type', TEXT_PLAIN], requestId), text);
    }
    exchange.proxied = core.proxy!.forward(head.method, upstreamHead, 'latin1', body, res.receivedAt, core.responseSink(exchange, head.method, head.headers));
    return;
  }
  if (route.kind === 'reply') return sendReply(core, res, route.reply, requestId);
  const reply = core.statics.respond(route.mount, route.path, head.method, fieldReader(head.headers), res.receivedAt);
  sendReply(core, res, reply, requestId);
}

/** The project's own HTTP/1.1 client side for `core`. */
export function createNetListener(core: FrontCore): FrontListener {
  let credentials = core.settings.tls;
  const server = new Http1Server(wireSettings(core), {
    onRequest: (head, body, res) => handle(core, head, body, res),
    onError: (error: unknown, connection: Http1Connection) => {
      core.errorLog(`internal error answering ${connection.remoteAddress}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    },
    onRefused: (failure: RequestFailure, head: RequestHead | null, connection: Http1Connection, requestLine: string) =>
      logRefusal(core, failure, head, connection.remoteAddress, requestLine),
  }, credentials === null ? null : tlsServerOptions(credentials, core.settings.client.headerTimeoutMs));
  if (server.tlsServer !== null) prepareTlsServer(server.tlsServer, core.errorLog);
  return {
    engine: 'net',
    // One of several front processes (--processes): the master's socket, shared (node:http's
    // listen shares it by itself).
    listen: (host, port) => server.listen(host, port, isFrontProcess()),
    applySettings: () => {
      server.configure(wireSettings(core));
      const next = core.settings.tls;
      if (next !== null && next !== credentials && server.tlsServer !== null) {
        replaceCredentials(server.tlsServer, next.options); // new handshakes only: open connections keep theirs
        credentials = next;
      }
    },
    stopAccepting: () => server.stopAccepting(),
    closeAll: () => server.closeAll(),
  };
}
