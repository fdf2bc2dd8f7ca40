/**
 * node:http ⇄ app interface. The one copy of this translation: the dev server and the
 * production pool both host apps through it.
 *
 * Where a request enters: `handle()` below. Node's parser (llhttp) has already read the head,
 * rejected malformed or ambiguous framing (clientError → 400/431/408 here) and will feed the body
 * as the app reads it. We build a HostedRequest, call the app through callApp (which turns every
 * failure into a response), then write the response with Node doing the framing: Content-Length
 * for sized bodies, chunked for streams, Date, keep-alive, and no body for HEAD.
 *
 * About 400 lines, on purpose: request checks, response writing and the send paths (stream,
 * file) of one adapter, each a few dozen lines that read together.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { bodyTooLarge, StreamedBody } from '../../app/body.ts';
import { callApp, type ErrorReporter, INTERNAL_ERROR } from '../../app/errors.ts';
import { RequestHeaders } from '../../app/headers.ts';
import type { App, Endpoint, FileBody, HeaderValue, Request, Response, ResponseHeaders } from '../../app/interface.ts';
import { HostedRequest } from '../../app/request.ts';
import { isFileBody, json } from '../../app/response.ts';
import { reporterFor } from './client-gone.ts';
import type { HostOptions } from './host.ts';
import { parserRefusal, targetTooLong } from '../../wire/refusal.ts';
import { bodyless } from '../../wire/status-line.ts';
import { appTiming, fixedLength, rawErrorReply } from './outgoing.ts';

const FILE_GONE: Response = json(404, { detail: 'Not found.' });
const UNIX_ENDPOINT: Endpoint = Object.freeze({ address: 'unix', port: 0 });

/** Create a node:http server that hosts `app` under `options`' limits. Call listen() on it. */
export function createNodeHttpServer(app: App, options: HostOptions): http.Server {
  const { limits } = options;
  const report = reporterFor(options.report, options.onClientGone);
  const server = http.createServer(
    {
      maxHeaderSize: limits.maxHeaderSize,
      headersTimeout: limits.headerTimeout,
      requestTimeout: limits.requestTimeout,
      keepAliveTimeout: limits.keepAliveTimeout,
      // Node checks the two timeouts above on this interval; keep it fine enough to be honest.
      connectionsCheckingInterval: Math.min(1000, limits.headerTimeout),
      requireHostHeader: true,
    },
    (req, res) => {
      try {
        handle(app, options, report, req, res);
      } catch (error) {
        // An engine bug must cost this connection, not the worker and every request in it.
        options.report(error, { method: req.method ?? '', target: req.url ?? '' } as Request);
        req.socket.destroy();
      }
    },
  );
  // Node drops the fields past maxHeadersCount without a word; one more than the limit lets
  // handle() see that the limit was passed and answer 431, as Gunicorn's limit_request_fields does.
  server.maxHeadersCount = limits.maxHeaderCount + 1;
  // The socket's inactivity timer while a request is in progress: with nothing written to the
  // kernel for this long while a response waits to be written, the client stopped reading.
  server.timeout = limits.sendTimeout;
  server.on('timeout', onSocketTimeout);
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => refuse(options, error, socket));
  return server;
}

/**
 * node:http's socket timeout (server.timeout during a request, keepAliveTimeout between them).
 * Nginx's send_timeout: a response that could not hand a byte to the kernel for the whole period
 * means the client stopped reading, so the connection is closed and the app's stream with it. An
 * app that is still computing its answer (nothing waiting to be written) is left alone: stuck
 * apps are the pool's heartbeat's business. An idle connection (keep-alive, or a head that does
 * not come) is closed, which is what node:http does when nobody listens for 'timeout'.
 */
function onSocketTimeout(socket: Socket & { _httpMessage?: unknown }): void {
  // _httpMessage: the response node:http has attached to the socket (undocumented, stable since 0.x).
  if (socket.writableLength > 0 || socket._httpMessage == null) socket.destroy();
}

function refuse(options: HostOptions, error: NodeJS.ErrnoException, socket: Socket): void {
  // Already answered (a refusal of this request's head): what llhttp finds after it gets no second answer.
  if ((socket as Socket & { [REFUSED]?: true })[REFUSED] === true) {
    socket.end();
    return;
  }
  const refusal = parserRefusal(error, socket.writable, options.limits.maxHeaderSize);
  if (refusal === null) {
    socket.destroy();
    return;
  }
  options.onRefused?.(refusal.status, refusal.reason, endpointOf(socket, true));
  socket.end(rawErrorReply(refusal.status, refusal.reason));
}

function endpointOf(socket: Socket, remote: boolean): Endpoint {
  const address = remote ? socket.remoteAddress : socket.localAddress;
  if (address === undefined) return UNIX_ENDPOINT;
  return { address, port: (remote ? socket.remotePort : socket.localPort) ?? 0 };
}

const ENDPOINTS = Symbol('layerstack.endpoints');
type WithEndpoints = Socket & { [ENDPOINTS]?: readonly [Endpoint, Endpoint] };

/** The connection's [client, server] endpoints, built once per connection, not per request. */
function endpointsOf(socket: WithEndpoints): readonly [Endpoint, Endpoint] {
  return (socket[ENDPOINTS] ??= [Object.freeze(endpointOf(socket, true)), Object.freeze(endpointOf(socket, false))]);
}

/** Whether the request announced a body (a non-zero Content-Length or any Transfer-Encoding). */
function hasUnreadBody(raw: string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') return true;
    if (name.length === 14 && name.toLowerCase() === 'content-length' && raw[i + 1] !== '0') return true;
  }
  return false;
}

/** Marks a connection on which a request was refused: nothing after it is served. */
const REFUSED = Symbol('layerstack.refused');

/** Characters of a Host value: reg-name, IP literal and port (RFC 3986 §3.2.2). */
const HOST_VALUE = /^[A-Za-z0-9\-._~!$&'()*+,;=:[\]%]*$/;

/**
 * What llhttp lets through and the net engine (the front's parser) refuses, checked on the head
 * it parsed: two Host fields or a Host that is not one, Transfer-Encoding on HTTP/1.0, codings
 * other than one final `chunked` (RFC 9112 §6.1: 501 for a coding we do not implement, 400 for a
 * list that is not one), and the asterisk target outside OPTIONS. Each is answered before the
 * app runs, and the connection closes after the answer.
 */
function framingProblem(req: http.IncomingMessage, raw: string[]): [number, string] | null {
  let hosts = 0;
  let te: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') {
      if (++hosts > 1) return [400, 'Bad request: more than one Host field.'];
      if (!HOST_VALUE.test(raw[i + 1]!)) return [400, 'Bad request: the Host field is not a host.'];
    } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      te = te === null ? raw[i + 1]! : `${te},${raw[i + 1]}`;
    }
  }
  if (te !== null) {
    if (req.httpVersion === '1.0') return [400, 'Bad request: Transfer-Encoding in an HTTP/1.0 request.'];
    const codings = te.split(',').map((c) => c.trim().toLowerCase());
    if (codings.length === 1 && codings[0] === 'chunked') return null;
    if (codings.includes('') || codings.at(-1) !== 'chunked' || codings.indexOf('chunked') !== codings.length - 1) {
      return [400, 'Bad request: Transfer-Encoding must end in one chunked.'];
    }
    return [501, `Not implemented: the transfer coding ${codings[0]} (only chunked is).`];
  }
  if (req.url === '*' && req.method !== 'OPTIONS') return [400, 'Bad request: the asterisk target is only for OPTIONS.'];
  return null;
}

/** The declared Content-Length, or null; scanned from the raw list so Node need not build req.headers. */
function contentLength(raw: string[]): number | null {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') return Number(raw[i + 1]);
  }
  return null;
}

function handle(app: App, options: HostOptions, report: ErrorReporter, req: http.IncomingMessage, res: http.ServerResponse): void {
  const start = performance.now();
  const target = req.url ?? '/';
  const socket = req.socket as Socket & { [REFUSED]?: true };
  // A request llhttp parsed behind one we refused (pipelined in the same bytes): its framing
  // cannot be trusted, so it never reaches the app; the connection closes after the refusal.
  if (socket[REFUSED] === true) return;
  if (target.length > options.limits.maxRequestLine) {
    const refusal = targetTooLong(options.limits.maxRequestLine);
    refuseInline(options, socket, res, refusal.status, refusal.reason);
    return;
  }
  const raw = req.rawHeaders;
  if (raw.length > 2 * options.limits.maxHeaderCount) {
    refuseInline(options, socket, res, 431, `Request header fields too many (limit ${options.limits.maxHeaderCount} fields).`);
    return;
  }
  const problem = framingProblem(req, raw);
  if (problem !== null) {
    refuseInline(options, socket, res, problem[0], problem[1]);
    return;
  }
  const length = contentLength(raw);
  if (length !== null && length > options.limits.maxBodySize) {
    // Refused before the app runs (SPEC §7), as Nginx's client_max_body_size does: no byte of it is read.
    refuseInline(options, socket, res, 413, bodyTooLarge(options.limits.maxBodySize).message);
    return;
  }
  const endpoints = endpointsOf(socket);
  const request = new HostedRequest({
    method: req.method!,
    target,
    headers: new RequestHeaders(raw),
    body: new StreamedBody(req, length, options.limits.maxBodySize),
    client: endpoints[0],
    server: endpoints[1],
    httpVersion: req.httpVersion,
  });
  const result = callApp(app, request, report);
  if (result instanceof Promise) {
    result.then((response) => send(options, request, response, res, start)).catch((error: unknown) => failed(options, request, res, start, error));
  } else {
    send(options, request, result, res, start);
  }
}

/**
 * The last resort for a failure no step of send() caught: report it, then answer 500 if no head
 * was written, else cut the connection (a truncated response must not look complete).
 */
function failed(options: HostOptions, request: Request, res: http.ServerResponse, start: number, error: unknown): void {
  options.report(error, request);
  if (res.headersSent || res.destroyed) {
    res.destroy();
    finish(options, request, res, start, 500, 0);
    return;
  }
  res.shouldKeepAlive = false;
  res.writeHead(500, { 'content-type': 'application/json' });
  res.end(INTERNAL_ERROR.body as string);
  finish(options, request, res, start, 500, 0);
}

/**
 * The app's headers as a fresh object for writeHead, without any Content-Length it set (the
 * server frames the body) unless `keepLength` (a stream whose size the app vouches for). An
 * object, not a [name, value] list: Node serialises an object straight into the head, while a
 * list goes through removeHeader/appendHeader per field (a quarter of the adapter's cost on a
 * small response).
 */
function headerObject(headers: ResponseHeaders | undefined, keepLength: boolean): Record<string, HeaderValue> {
  const out: Record<string, HeaderValue> = {};
  if (headers === undefined) return out;
  for (const name in headers) {
    if (!keepLength && name.length === 14 && name.toLowerCase() === 'content-length') continue;
    out[name] = headers[name]!;
  }
  return out;
}

/** Answer a request the app must not see (414, 413) and close the connection after it. */
function refuseInline(options: HostOptions, socket: Socket, res: http.ServerResponse, status: number, detail: string): void {
  // The request's socket, not res.socket: a response queued behind a pipelined one has none yet.
  (socket as Socket & { [REFUSED]?: true })[REFUSED] = true;
  options.onRefused?.(status, detail, endpointOf(socket, true));
  res.shouldKeepAlive = false;
  const body = JSON.stringify({ detail });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

function send(options: HostOptions, request: Request, response: Response, res: http.ServerResponse, start: number): void {
  const body = response.body;
  if (isFileBody(body) && body.length === undefined) {
    sizeFile(body)
      .then(
        (sized) => send(options, request, { ...response, body: sized }, res, start),
        (error: NodeJS.ErrnoException) => {
          const fallback = error.code === 'ENOENT' ? FILE_GONE : (options.report(error, request) ?? INTERNAL_ERROR);
          send(options, request, fallback, res, start);
        },
      )
      .catch((error: unknown) => failed(options, request, res, start, error));
    return;
  }
  let status = response.status;
  const length = fixedLength(body);
  const headers = headerObject(response.headers, length < 0 && !isFileBody(body));
  if (options.serverTiming) headers['server-timing'] = appTiming(performance.now() - start);
  const noBody = bodyless(status);
  if (!noBody && length >= 0) headers['content-length'] = length;
  else if (!noBody && isFileBody(body)) headers['content-length'] = body.length!;
  // An answer sent before the request body was read (413, an early 401) leaves unread bytes on
  // the connection; closing it is safer than reusing it (Gunicorn and Nginx do the same).
  if (!res.req.complete && hasUnreadBody(res.req.rawHeaders)) res.shouldKeepAlive = false;
  try {
    res.writeHead(status, headers as http.OutgoingHttpHeaders);
  } catch (error) {
    // Header names or values Node refuses (CR/LF, bad tokens): the app's bug, so a 500.
    const fallback = options.report(error, request) ?? undefined;
    status = fallback?.status ?? 500;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end('{"detail":"Internal server error: the app sent headers that cannot be sent."}');
    finish(options, request, res, start, status, 0);
    return;
  }
  if (length >= 0 || noBody) {
    if (noBody || length === 0) res.end();
    else res.end(body as string | Uint8Array);
    finish(options, request, res, start, status, noBody || request.method === 'HEAD' ? 0 : length);
    return;
  }
  if (request.method === 'HEAD' || (isFileBody(body) && body.length === 0)) {
    closeIterable(body);
    res.end();
    finish(options, request, res, start, status, 0);
    return;
  }
  const sending = isFileBody(body)
    ? sendFile(res, body)
    : sendStream(res, body as AsyncIterable<Uint8Array | string>);
  sending.then(
    (bytes) => finish(options, request, res, start, status, bytes),
    (error: unknown) => {
      // Headers are gone: the only honest signal left is cutting the connection short.
      options.report(error, request);
      res.destroy();
      finish(options, request, res, start, status, 0);
    },
  ).catch((error: unknown) => failed(options, request, res, start, error));
}

function finish(options: HostOptions, request: Request, res: http.ServerResponse, start: number, status: number, bytes: number): void {
  const onAccess = options.onAccess;
  if (onAccess === undefined) return;
  const log = () =>
    onAccess({
      method: request.method,
      target: request.target,
      httpVersion: request.httpVersion,
      status,
      bytes,
      durationMs: performance.now() - start,
      client: request.client,
      headers: request.headers,
    });
  if (res.writableFinished) log();
  else res.once('close', log);
}

function closeIterable(body: unknown): void {
  if (body !== null && typeof body === 'object' && Symbol.asyncIterator in body) {
    const iterator = (body as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    void iterator.return?.()?.catch?.(() => {});
  }
}

/** Write an async iterable with backpressure; stops pulling when the client goes away. */
async function sendStream(res: http.ServerResponse, body: AsyncIterable<Uint8Array | string>): Promise<number> {
  const iterator = body[Symbol.asyncIterator]();
  let bytes = 0;
  let finished = false;
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) {
        finished = true;
        break;
      }
      if (res.destroyed) break;
      const chunk = next.value;
      if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
        throw new TypeError(`response body stream yielded ${typeof chunk}, not bytes or a string`);
      }
      if (chunk.length === 0) continue;
      bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
      if (!res.write(chunk)) await drained(res);
    }
  } finally {
    if (!finished) await iterator.return?.()?.catch?.(() => {});
  }
  if (!res.destroyed) res.end();
  return bytes;
}

function drained(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** The file slice with its length filled in from a stat (never by reading the file). */
async function sizeFile(body: FileBody): Promise<FileBody> {
  const offset = body.offset ?? 0;
  const info = await stat(body.path);
  if (!info.isFile()) throw Object.assign(new Error(`not a regular file: ${body.path}`), { code: 'ENOENT' });
  return { ...body, offset, length: Math.max(0, info.size - offset) };
}

/** Stream a sized file slice with backpressure; stops reading when the client goes away. */
function sendFile(res: http.ServerResponse, body: FileBody): Promise<number> {
  const offset = body.offset ?? 0;
  const length = body.length!;
  const stream = createReadStream(body.path, { start: offset, end: offset + length - 1, highWaterMark: 64 * 1024 });
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const resume = () => stream.resume();
    stream.on('data', (chunk) => {
      bytes += chunk.length;
      if (!res.write(chunk)) {
        stream.pause();
        res.once('drain', resume);
      }
    });
    stream.on('end', () => {
      res.end();
      resolve(bytes);
    });
    stream.on('error', reject);
    res.once('close', () => {
      stream.destroy();
      resolve(bytes);
    });
  });
}
