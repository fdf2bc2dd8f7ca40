/**
 * uWebSockets.js ⇄ app interface: the fast engine.
 *
 * uWS parses HTTP in C++ and calls `handle()` with two objects that are only valid for a while:
 * `req` until the handler returns (so the method, target and headers are copied out first, before
 * any await), `res` until the response ends or the client aborts (so every later use checks
 * `aborted`, and an async answer registers onAborted before the handler returns). From there the
 * request is the same HostedRequest the node:http engine builds, and the app is called through
 * the same callApp.
 *
 * The hot path (a small synchronous answer such as GET /api/ping/) allocates only what the app
 * interface requires (the request, its header list and body object): header copying goes through
 * one module-level callback, and the response is written with writeStatus/writeHeader/end inside
 * the handler, where uWS has already corked the socket, so it leaves in one write.
 *
 * What uWS does by itself (and we therefore do not): Date (cached per second), Content-Length for
 * end(body), chunked framing for write(), keep-alive, `100 Continue`. What it cannot do, and
 * docs/app-server.md records: answer 400 to a malformed request (it closes the connection or waits
 * for its 10 s timeout), serve HTTP/1.0, change its 10 s idle timeout, accept more than ~50 header
 * fields, or leave out its `uWebSockets: 20` response header.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { bodyTooLarge, StreamedBody } from '../../app/body.ts';
import { callApp, INTERNAL_ERROR } from '../../app/errors.ts';
import { RequestHeaders } from '../../app/headers.ts';
import type { App, Endpoint, FileBody, Request, Response, ResponseBody, ResponseHeaders } from '../../app/interface.ts';
import { HostedRequest } from '../../app/request.ts';
import { isFileBody, json } from '../../app/response.ts';
import type { Address } from '../../wire/address.ts';
import type { Engine } from './engine.ts';
import type { HostOptions } from './host.ts';
import { appTiming, bodyless } from './outgoing.ts';
import { headTooLarge, targetTooLong, type Refusal } from '../../wire/refusal.ts';
import { statusLine } from '../../wire/status-line.ts';
import { hasInvalidValueChar, isToken } from '../../wire/syntax.ts';
import { loadUws } from '../../wire/uws-binary.ts';

const uws = loadUws();

const FILE_GONE: Response = json(404, { detail: 'Not found.' });
const UNIX_ENDPOINT: Endpoint = Object.freeze({ address: 'unix', port: 0 });
/** Request body bytes buffered for an app that is not reading before uWS stops reading the socket. */
const BODY_HIGH_WATER = 64 * 1024;
const FILE_CHUNK = 64 * 1024;
/** How long a draining engine must see no new request before it closes idle connections. */
const DRAIN_QUIET_MS = 200;

/** Header names already checked, so the regex runs once per distinct name, not per response. */
const checkedNames = new Set<string>();

/** Fields uWS writes itself or that belong to the connection; an app's copy is dropped. */
function serverOwned(name: string): boolean {
  const n = name.length;
  if (n !== 4 && n !== 10 && n !== 14 && n !== 17) return false;
  const lower = name.toLowerCase();
  return lower === 'date' || lower === 'connection' || lower === 'keep-alive' || lower === 'content-length' || lower === 'transfer-encoding';
}

// ---- copying the request head (synchronous, inside the uWS callback) ----

let headerList: string[] = [];
let headerBytes = 0;
let declaredLength: string | null = null;
let chunkedBody = false;

/** req.forEach callback: one function for every request, so no closure is made per request. */
function collectHeader(name: string, value: string): void {
  headerList.push(name, value);
  headerBytes += name.length + value.length + 4;
  if (name.length === 14 && name === 'content-length') declaredLength = value;
  else if (name.length === 17 && name === 'transfer-encoding') chunkedBody = true;
}

/** The peer's address, decoded only if someone asks (most routes never do). */
class UwsPeer implements Endpoint {
  readonly port = 0;
  #res: HttpResponse | null;
  #address: string | undefined;

  constructor(res: HttpResponse) {
    this.#res = res;
  }

  get address(): string {
    if (this.#address === undefined) {
      this.#address = this.#res === null ? '' : Buffer.from(this.#res.getRemoteAddressAsText()).toString('latin1');
    }
    return this.#address;
  }

  /** Called when `res` dies: from then on an address never read is ''. */
  detach(): void {
    this.#res = null;
  }
}

// ---- the request body: uWS pushes chunks, the app pulls them ----

/** Chunks pushed by res.onData, read by the app through StreamedBody; pauses uWS when the app lags. */
class BodyPipe implements AsyncIterable<Uint8Array> {
  complete = false;
  #res: HttpResponse;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #received = 0;
  #paused = false;
  #failed: Error | null = null;
  #wake: (() => void) | null = null;
  readonly #limit: number;

  constructor(res: HttpResponse, limit: number) {
    this.#res = res;
    this.#limit = limit;
  }

  /** res.onData handler. uWS neuters the ArrayBuffer after we return, so each chunk is copied. */
  readonly push = (chunk: ArrayBuffer, last: boolean): void => {
    const size = chunk.byteLength;
    if (size > 0) {
      this.#received += size;
      // Past the limit the app gets its 413 from StreamedBody; keep no more than one chunk beyond.
      if (this.#received - size <= this.#limit) {
        this.#chunks.push(Buffer.from(new Uint8Array(chunk)));
        this.#buffered += size;
      }
      if (this.#buffered > BODY_HIGH_WATER && !this.#paused && !last) {
        this.#paused = true;
        this.#res.pause();
      }
    }
    if (last) this.complete = true;
    this.#signal();
  };

  /** The client went away: a reader waiting for the next chunk gets an error. */
  abort(): void {
    this.#failed = new Error('the client closed the connection before sending the whole body');
    this.#signal();
  }

  #signal(): void {
    const wake = this.#wake;
    if (wake !== null) {
      this.#wake = null;
      wake();
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk !== undefined) {
        this.#buffered -= chunk.byteLength;
        if (this.#paused && this.#buffered < BODY_HIGH_WATER / 2 && this.#failed === null) {
          this.#paused = false;
          this.#res.resume();
        }
        yield chunk;
        continue;
      }
      if (this.complete) return;
      if (this.#failed !== null) throw this.#failed;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
}

// ---- the engine ----

/** Mutable state the handler shares with its engine (drain needs the in-flight count). */
interface EngineState {
  active: number;
  draining: boolean;
  local: Endpoint;
  /** While draining: when the last request arrived (ms, Date.now()). */
  lastArrival: number;
}

/** The app's own content-length, as found by the last flattenChecked() call (-1: none). */
let appLength = -1;
const NO_HEADERS: string[] = [];

/**
 * The app's headers checked and flattened into a fresh [name, value, …] list, or null when one
 * cannot be sent (node:http would throw on it; SPEC §4.2 makes it a 500).
 */
function flattenChecked(headers: ResponseHeaders | undefined): string[] | null {
  appLength = -1;
  if (headers === undefined) return NO_HEADERS;
  const flat: string[] = [];
  for (const name in headers) {
    if (!checkedNames.has(name)) {
      if (!isToken(name)) return null;
      if (checkedNames.size < 1024) checkedNames.add(name);
    }
    const value = headers[name]!;
    if (serverOwned(name)) {
      if (name.length === 14 && name.toLowerCase() === 'content-length') appLength = Number(value);
      continue;
    }
    if (typeof value === 'string') {
      if (hasInvalidValueChar(value)) return null;
      flat.push(name, value);
    } else if (typeof value === 'number') flat.push(name, String(value));
    else
      for (const v of value) {
        if (typeof v !== 'string' || hasInvalidValueChar(v)) return null;
        flat.push(name, v);
      }
  }
  return flat;
}

function writeHead(res: HttpResponse, status: number, list: string[], timing: string | null): void {
  if (status !== 200) res.writeStatus(statusLine(status));
  for (let i = 0; i < list.length; i += 2) res.writeHeader(list[i]!, list[i + 1]!);
  if (timing !== null) res.writeHeader('server-timing', timing);
}

/**
 * End a response that has no body. Only the argument-less endWithoutBody() works in this uWS
 * build (a length argument, even undefined, writes a bogus Content-Length), so closing is asked
 * of the client with a header instead of by uWS.
 */
function endBodyless(res: HttpResponse, close: boolean): void {
  if (close) res.writeHeader('connection', 'close');
  res.endWithoutBody();
}

const JSON_TYPE = ['content-type', 'application/json'];
const BAD_HEADERS_BODY = '{"detail":"Internal server error: the app sent headers that cannot be sent."}';

/** The uWebSockets.js engine. */
export class UwsEngine implements Engine {
  readonly #uwsApp: TemplatedApp;
  readonly #state: EngineState = { active: 0, draining: false, local: UNIX_ENDPOINT, lastArrival: 0 };
  #token: us_listen_socket | null = null;

  constructor(app: App, options: HostOptions) {
    this.#uwsApp = uws.App();
    this.#uwsApp.any('/*', createHandler(app, options, this.#state));
  }

  listen(bind: Address): Promise<Address> {
    return new Promise((resolve, reject) => {
      if (bind.kind === 'unix') {
        this.#uwsApp.listen_unix((token) => {
          if (!token) return reject(new Error(`cannot listen on unix:${bind.path} (in use, or the directory is not writable)`));
          this.#token = token;
          resolve(bind);
        }, bind.path);
        return;
      }
      // uWS sets SO_REUSEPORT by default on Linux: each pool worker binds the port itself and the
      // kernel spreads new connections over the workers' accept queues.
      this.#uwsApp.listen(bind.host, bind.port, (token) => {
        if (!token) return reject(Object.assign(new Error(`cannot listen on ${bind.host}:${bind.port} (address in use or not available)`), { code: 'EADDRINUSE' }));
        this.#token = token;
        const port = uws.us_socket_local_port(token as never);
        this.#state.local = { address: bind.host, port };
        resolve({ kind: 'tcp', host: bind.host, port });
      });
    });
  }

  stopAccepting(): void {
    if (this.#token !== null) {
      uws.us_listen_socket_close(this.#token);
      this.#token = null;
    }
  }

  drain(timeoutMs: number): Promise<boolean> {
    const state = this.#state;
    // From now on every response closes its connection, so keep-alive clients reconnect elsewhere.
    state.draining = true;
    state.lastArrival = Date.now();
    this.stopAccepting();
    return new Promise((resolve) => {
      const done = (clean: boolean) => {
        clearTimeout(deadline);
        clearInterval(poll);
        // uWS has no "close idle connections": with nothing in flight, close them all.
        if (clean) this.close();
        resolve(clean);
      };
      const deadline = setTimeout(() => done(false), timeoutMs);
      // Idle means nothing in flight AND nothing new for a moment: a connection accepted just
      // before the listener closed has usually not delivered its request yet, and closing it
      // then would fail a request that was already ours.
      const poll = setInterval(() => {
        if (state.active === 0 && Date.now() - state.lastArrival >= DRAIN_QUIET_MS) done(true);
      }, DRAIN_QUIET_MS / 4);
    });
  }

  close(): void {
    this.stopAccepting();
    (this.#uwsApp as TemplatedApp & { close(): void }).close();
  }
}

function createHandler(app: App, options: HostOptions, state: EngineState): (res: HttpResponse, req: HttpRequest) => void {
  const { limits, report, onAccess, onRefused } = options;
  const timed = options.serverTiming === true || onAccess !== undefined;
  const serverTiming = options.serverTiming === true;
  const maxBody = limits.maxBodySize;

  function ended(): void {
    state.active--;
  }

  function log(request: Request, status: number, bytes: number, start: number): void {
    onAccess!({
      method: request.method,
      target: request.target,
      httpVersion: '1.1',
      status,
      bytes,
      durationMs: performance.now() - start,
      client: request.client,
      headers: request.headers,
    });
  }

  function refuse(res: HttpResponse, refusal: Refusal): void {
    const { status, detail } = refusal;
    if (onRefused !== undefined) onRefused(status, detail, { address: Buffer.from(res.getRemoteAddressAsText()).toString('latin1'), port: 0 });
    res.writeStatus(statusLine(status)).writeHeader('content-type', 'application/json').end(JSON.stringify({ detail }), true);
  }

  /** One request whose answer is not written inside the handler: it must survive an abort. */
  class Exchange {
    aborted = false;
    finished = false;
    #writable: (() => void) | null = null;
    constructor(
      readonly res: HttpResponse,
      readonly request: HostedRequest,
      readonly peer: UwsPeer | null,
      readonly pipe: BodyPipe | null,
      readonly start: number,
    ) {}

    readonly onAborted = (): void => {
      this.aborted = true;
      this.peer?.detach();
      this.pipe?.abort();
      this.#wakeWritable();
      if (!this.finished) {
        this.finished = true;
        ended();
      }
    };

    #wakeWritable(): void {
      const wake = this.#writable;
      if (wake !== null) {
        this.#writable = null;
        wake();
      }
    }

    /** Resolves when the socket can take more (or the client is gone). */
    writable(): Promise<void> {
      return new Promise((resolve) => {
        this.#writable = resolve;
        this.res.onWritable(() => {
          this.#wakeWritable();
          return true;
        });
      });
    }

    get closeAfter(): boolean {
      return state.draining || (this.pipe !== null && !this.pipe.complete);
    }

    finish(status: number, bytes: number): void {
      if (this.finished) return;
      this.finished = true;
      if (onAccess !== undefined) log(this.request, status, bytes, this.start);
      this.peer?.detach();
      ended();
    }
  }

  /** Write a whole response (sized body) and end; returns the body bytes sent. */
  function writeWhole(res: HttpResponse, request: Request, status: number, list: string[], body: string | Uint8Array | null, timing: string | null, close: boolean): number {
    writeHead(res, status, list, timing);
    if (bodyless(status)) {
      endBodyless(res, close);
      return 0;
    }
    if (request.method === 'HEAD') {
      // endWithoutBody(length) is broken in this uWS build: the header is written by hand.
      res.writeHeader('content-length', String(body === null ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength));
      endBodyless(res, close);
      return 0;
    }
    if (body === null) {
      res.end(undefined, close);
      return 0;
    }
    res.end(body, close);
    return onAccess === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  }

  /** Send a response that may need to wait (stream, file); always runs corked. */
  function respondLater(ex: Exchange, response: Response): void {
    if (ex.aborted) return;
    const { res, request } = ex;
    const body = response.body;
    const timing = serverTiming ? appTiming(performance.now() - ex.start) : null;
    const list = flattenChecked(response.headers);
    const declared = appLength;
    const status = response.status;
    if (list === null) {
      report(new TypeError('app sent a response header that is not a token or has control characters'), request);
      res.cork(() => writeWhole(res, request, 500, JSON_TYPE, BAD_HEADERS_BODY, timing, ex.closeAfter));
      ex.finish(500, 0);
      return;
    }
    if (typeof body === 'string' || body instanceof Uint8Array || body === null || body === undefined || bodyless(status)) {
      closeIterable(body);
      let bytes = 0;
      res.cork(() => {
        bytes = writeWhole(res, request, status, list, typeof body === 'string' || body instanceof Uint8Array ? body : null, timing, ex.closeAfter);
      });
      ex.finish(status, bytes);
      return;
    }
    if (isFileBody(body)) void sendFile(ex, status, list, timing, body);
    else void sendStream(ex, status, list, timing, body as AsyncIterable<Uint8Array | string>, declared);
  }

  async function sendFile(ex: Exchange, status: number, list: string[], timing: string | null, body: FileBody): Promise<void> {
    const offset = body.offset ?? 0;
    let length = body.length;
    if (length === undefined) {
      try {
        const info = await stat(body.path);
        if (!info.isFile()) throw Object.assign(new Error(`not a regular file: ${body.path}`), { code: 'ENOENT' });
        length = Math.max(0, info.size - offset);
      } catch (error) {
        const fallback = (error as NodeJS.ErrnoException).code === 'ENOENT' ? FILE_GONE : (report(error, ex.request) ?? INTERNAL_ERROR);
        respondLater(ex, fallback);
        return;
      }
    }
    if (ex.aborted) return;
    const { res, request } = ex;
    if (request.method === 'HEAD' || length === 0) {
      res.cork(() => {
        writeHead(res, status, list, timing);
        res.writeHeader('content-length', String(length));
        endBodyless(res, ex.closeAfter);
      });
      ex.finish(status, 0);
      return;
    }
    let sent = 0;
    const stream = createReadStream(body.path, { start: offset, end: offset + length - 1, highWaterMark: FILE_CHUNK });
    try {
      let first = true;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (ex.aborted) break;
        const done = await writeSized(ex, chunk, length, first ? () => writeHead(res, status, list, timing) : null);
        first = false;
        sent += chunk.byteLength;
        if (done) break;
      }
      if (!ex.aborted && sent < length) throw new Error(`file ${body.path} ended after ${sent} of ${length} bytes`);
    } catch (error) {
      report(error, request);
      if (!ex.aborted) res.close();
    } finally {
      stream.destroy();
      ex.finish(status, sent);
    }
  }

  /**
   * tryEnd() one chunk of a body whose total size is known, waiting on onWritable while the socket
   * is full. Resolves true when the whole response has been written.
   */
  async function writeSized(ex: Exchange, chunk: Uint8Array, total: number, head: (() => void) | null): Promise<boolean> {
    const res = ex.res;
    const startOffset = res.getWriteOffset();
    let result: [boolean, boolean] = [false, false];
    res.cork(() => {
      head?.();
      result = res.tryEnd(chunk, total);
    });
    while (!result[0] && !result[1] && !ex.aborted) {
      await ex.writable();
      if (ex.aborted) break;
      res.cork(() => {
        result = res.tryEnd(chunk.subarray(res.getWriteOffset() - startOffset), total);
      });
    }
    return result[1];
  }

  async function sendStream(ex: Exchange, status: number, list: string[], timing: string | null, body: AsyncIterable<Uint8Array | string>, declared: number): Promise<void> {
    const { res, request } = ex;
    if (request.method === 'HEAD') {
      closeIterable(body);
      res.cork(() => {
        writeHead(res, status, list, timing);
        if (declared >= 0) res.writeHeader('content-length', String(declared));
        endBodyless(res, ex.closeAfter);
      });
      ex.finish(status, 0);
      return;
    }
    const iterator = body[Symbol.asyncIterator]();
    let sent = 0;
    let first = true;
    let complete = false;
    try {
      for (;;) {
        const next = await iterator.next();
        if (ex.aborted) break;
        if (next.done) {
          if (declared >= 0 && sent !== declared) throw new Error(`stream declared content-length ${declared} but produced ${sent} bytes`);
          if (declared < 0)
            res.cork(() => {
              if (first) writeHead(res, status, list, timing);
              res.end(undefined, ex.closeAfter);
            });
          complete = true;
          break;
        }
        const value = next.value;
        if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
          throw new TypeError(`response body stream yielded ${typeof value}, not bytes or a string`);
        }
        const chunk = typeof value === 'string' ? Buffer.from(value) : value;
        if (chunk.byteLength === 0) continue;
        sent += chunk.byteLength;
        const head = first ? () => writeHead(res, status, list, timing) : null;
        first = false;
        if (declared >= 0) {
          if (await writeSized(ex, chunk, declared, head)) {
            complete = sent === declared;
            if (!complete) throw new Error(`stream produced more than its declared content-length ${declared}`);
            break;
          }
          continue;
        }
        let ok = true;
        res.cork(() => {
          head?.();
          ok = res.write(chunk);
        });
        if (!ok) await ex.writable();
      }
    } catch (error) {
      // Headers may be gone: the only honest signal left is cutting the connection short.
      report(error, request);
      if (!ex.aborted) res.close();
    } finally {
      if (!complete) await iterator.return?.();
      ex.finish(status, sent);
    }
  }

  return function handle(res: HttpResponse, req: HttpRequest): void {
    const start = timed ? performance.now() : 0;
    const method = req.getCaseSensitiveMethod();
    const query = req.getQuery();
    const target = query ? `${req.getUrl()}?${query}` : req.getUrl();
    headerList = [];
    headerBytes = 0;
    declaredLength = null;
    chunkedBody = false;
    req.forEach(collectHeader);
    const headers = headerList;

    if (target.length > limits.maxRequestLine) return refuse(res, targetTooLong(limits.maxRequestLine));
    if (headerBytes + target.length + method.length + 12 > limits.maxHeaderSize || headers.length > 2 * limits.maxHeaderCount) {
      return refuse(res, headTooLarge(limits.maxHeaderSize));
    }
    const length = declaredLength === null ? null : Number(declaredLength);
    if (length !== null && length > maxBody) return refuse(res, { kind: 'body-too-large', status: 413, detail: bodyTooLarge(maxBody).message });

    let pipe: BodyPipe | null = null;
    if (chunkedBody || (length !== null && length > 0)) {
      pipe = new BodyPipe(res, maxBody);
      res.onData(pipe.push);
    }
    const local = state.local;
    const peer = local === UNIX_ENDPOINT ? null : new UwsPeer(res);
    // The access log reads the address after `res` is gone: take it now.
    if (onAccess !== undefined && peer !== null) void peer.address;
    const request = new HostedRequest({
      method,
      target,
      headers: new RequestHeaders(headers, true),
      body: new StreamedBody(pipe, length, maxBody),
      client: peer ?? UNIX_ENDPOINT,
      server: local,
    });
    state.active++;
    if (state.draining) state.lastArrival = Date.now();
    const result = callApp(app, request, report);

    if (!(result instanceof Promise)) {
      const body = result.body;
      const simple = body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
      if (simple || bodyless(result.status)) {
        // The hot path: still inside the uWS callback, so the socket is corked for us.
        const list = flattenChecked(result.headers);
        const close = state.draining || (pipe !== null && !pipe.complete);
        const timing = serverTiming ? appTiming(performance.now() - start) : null;
        let status = result.status;
        let bytes: number;
        if (list === null) {
          report(new TypeError('app sent a response header that is not a token or has control characters'), request);
          status = 500;
          bytes = writeWhole(res, request, 500, JSON_TYPE, BAD_HEADERS_BODY, timing, close);
        } else {
          closeIterable(body);
          bytes = writeWhole(res, request, status, list, simple ? (body as string | Uint8Array | null | undefined) ?? null : null, timing, close);
        }
        if (onAccess !== undefined) log(request, status, bytes, start);
        peer?.detach();
        ended();
        return;
      }
    }
    const ex = new Exchange(res, request, peer, pipe, start);
    res.onAborted(ex.onAborted);
    if (result instanceof Promise) {
      result.then((response) => respondLater(ex, response));
    } else {
      respondLater(ex, result);
    }
  };
}

function closeIterable(body: ResponseBody): void {
  if (body !== null && typeof body === 'object' && Symbol.asyncIterator in body) {
    void (body as AsyncIterable<unknown>)[Symbol.asyncIterator]().return?.();
  }
}
