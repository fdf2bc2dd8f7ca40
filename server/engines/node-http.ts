/**
 * node:http ⇄ app interface. The one copy of this translation: the dev server and the
 * production pool both host apps through it.
 *
 * Where a request enters: `handle()` below. The gate (wire/http1/node-http-gate.ts) has read the
 * request with the net engine's parser, so both engines accept and refuse the same requests with
 * the same status (malformed, oversized, timed out: answered by the gate before the app runs),
 * serve HTTP/1.0 and keep pipelined requests in order, one at a time; the body arrives whole,
 * within --max-body-size. node:http builds the request and response objects from a canonical head
 * the gate gives llhttp. We build a HostedRequest from the gate's head, call the app through
 * callApp (which turns every failure into a response), then write the response with Node doing
 * the framing: Content-Length for sized bodies, chunked for streams, Date, keep-alive, and no
 * body for HEAD.
 *
 * About 400 lines, on purpose: response writing and the send paths (stream, file) of one
 * adapter, each a few dozen lines that read together.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { StreamedBody } from '../../app/body.ts';
import { callApp, type ErrorReporter, INTERNAL_ERROR } from '../../app/errors.ts';
import { RequestHeaders } from '../../app/headers.ts';
import type { App, Endpoint, FileBody, HeaderValue, Request, Response, ResponseHeaders } from '../../app/interface.ts';
import { HostedRequest } from '../../app/request.ts';
import { isFileBody, json } from '../../app/response.ts';
import { reporterFor } from './client-gone.ts';
import type { HostOptions } from './host.ts';
import { admitted, installGate } from '../../wire/http1/node-http-gate.ts';
import { parserRefusal } from '../../wire/refusal.ts';
import { wireSettings } from './net/context.ts';
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
      // The gate enforces the head and body timeouts (--header-timeout; the body timeout between
      // reads, bounded by --request-timeout) and checks Host: llhttp only ever sees a complete
      // canonical head, with no fields. node:http's own head clock would run from the
      // connection's start while the gate holds a body, so it is off.
      headersTimeout: 0,
      requestTimeout: 0,
      keepAliveTimeout: limits.keepAliveTimeout,
      requireHostHeader: false,
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
  const settings = wireSettings(limits);
  installGate(server, {
    settings,
    onRefused(failure, _head, remoteAddress) {
      options.onRefused?.(failure.status, `${failure.reason} (${failure.kind})`, { address: remoteAddress, port: 0 });
      return '';
    },
    onError(error) {
      options.report(error, { method: '', target: '' } as unknown as Request);
    },
  });
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

/** What llhttp still reports (the gate has answered every malformed request before it): time-outs, resets. */
function refuse(options: HostOptions, error: NodeJS.ErrnoException, socket: Socket): void {
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

/** A body that arrived whole, as the app interface's async iterable. */
async function* once(body: Buffer): AsyncIterable<Uint8Array> {
  yield body;
}

function handle(app: App, options: HostOptions, report: ErrorReporter, req: http.IncomingMessage, res: http.ServerResponse): void {
  const start = performance.now();
  // The request as the gate read and checked it (req carries only a canonical stand-in head).
  const gate = admitted(req, res);
  const head = gate.head!;
  const body = gate.body;
  const endpoints = endpointsOf(req.socket);
  const maxBody = options.limits.maxBodySize;
  const request = new HostedRequest({
    method: head.method,
    target: head.target,
    headers: new RequestHeaders(head.headers),
    body: body === null ? new StreamedBody(null, null, maxBody) : new StreamedBody(once(body), head.chunked ? null : body.length, maxBody),
    client: endpoints[0],
    server: endpoints[1],
    httpVersion: head.minor === 0 ? '1.0' : '1.1',
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
