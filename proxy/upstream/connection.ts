/**
 * One keep-alive HTTP/1.1 connection to an upstream, over a raw net.Socket.
 *
 * This is the proxy's hot path, written by hand instead of http.Agent or undici because those
 * cost 60–90 µs of CPU per proxied request on the 2-core machine it was measured on, while the
 * whole budget to match Nginx there is ~30 µs (the proxied-ping rows of bench/RESULTS.md show
 * the front's own cost; `npm run bench` measures it again). Per request it does: one socket write of a head string built by
 * the caller, one latin1 decode of the start of the read and a string search for the end of the
 * response head, a strict parse of it, and — for the common small response that arrives in the
 * same read — one callback with the complete body.
 * Larger bodies stream through with backpressure (the socket is paused while the client is slow).
 *
 * Framing is decided strictly (see response-head.ts); a response that ends early, runs long, or
 * leaves extra bytes behind closes the connection instead of returning it to the pool, so no
 * stray byte can ever be read as the next client's response.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { ChunkedDecoder } from '../../wire/http1/chunked-decoder.ts';
import { parseResponseHead } from './response-head.ts';
import type { ResponseHead } from './response-head.ts';
import type { Upstream } from './upstream.ts';

/** Why an exchange failed; decides between retry, 502 and 504. */
export type ExchangeFailure =
  /** The connection closed or reset before a single response byte: the request may be retried
   * (if idempotent) when the connection was a reused keep-alive one. */
  | 'no-response'
  /** The upstream sent something that is not a valid HTTP/1.1 response head or body framing. */
  | 'invalid'
  /** The connection broke after part of the response had arrived. */
  | 'broken'
  /** No byte from the upstream within the read timeout. */
  | 'timeout'
  /** The client stopped reading the streamed response for longer than the send timeout. */
  | 'client-stalled';

/**
 * Receives the outcome of one request/response exchange.
 *
 * Body buffers passed to `onComplete` and `onBody` are views into a read buffer shared by every
 * upstream connection (see READ_BUFFER): they are valid only during the call. Whoever needs the
 * bytes later (a client socket that could not take them yet) must copy them.
 */
export interface ExchangeHandler {
  /** The whole response is here (small responses, bodyless statuses): head and body at once, at `now` (performance clock). */
  onComplete(head: ResponseHead, body: Buffer, now: number): void;
  /** The head is here and the body will stream; `length` is the body size or -1 if unknown. */
  onHead(head: ResponseHead, length: number): void;
  /** Body bytes; return false to pause the upstream until `resume()`. */
  onBody(chunk: Buffer): boolean;
  /** The streamed body is complete. */
  onEnd(): void;
  /** The exchange failed; `detail` is for the error log. */
  onFailure(failure: ExchangeFailure, detail: string): void;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
/**
 * One read buffer for all upstream sockets (net's `onread` option). Reads are handled
 * synchronously, one socket at a time, and nothing keeps a view past its callback, so one buffer
 * suffices; it spares a Buffer allocation and the Readable stream machinery on every read, which
 * is a measurable part of the proxy's per-request cost.
 */
const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);
/** Its memory: each read's view is made from these constants (no getters per read). */
const READ_MEMORY = READ_BUFFER.buffer;
const READ_OFFSET = READ_BUFFER.byteOffset;
const EMPTY = Buffer.alloc(0);
/** Largest response head accepted (Nginx's proxy_buffer_size is 4–8 KiB; be a little kinder). */
export const MAX_RESPONSE_HEAD = 64 * 1024;
/** Bytes decoded as text to find the end of a response head; longer heads take a slower search. */
const HEAD_SCAN = 2048;

const HEAD = 0;
const BODY_LENGTH = 1;
const BODY_CHUNKED = 2;
const BODY_UNTIL_CLOSE = 3;

/** Creates a connection; the callback gets an error (with `.timeout` true on connect timeout) or the connection. */
export function connectUpstream(
  upstream: Upstream,
  timeoutMs: number,
  callback: (error: (Error & { timeout?: boolean }) | null, connection: UpstreamConnection | null) => void,
): void {
  const address = upstream.address;
  let connection: UpstreamConnection | null = null;
  const onread = {
    buffer: READ_BUFFER,
    callback: (bytes: number): boolean => (connection === null ? false : connection.handleData(Buffer.from(READ_MEMORY, READ_OFFSET, bytes))),
  };
  const socket = address.kind === 'unix' ? net.connect({ path: address.path, onread }) : net.connect({ host: address.host, port: address.port, onread });
  let settled = false;
  const timer = setTimeout(() => {
    if (settled) return;
    settled = true;
    socket.destroy();
    callback(Object.assign(new Error(`connect timed out after ${timeoutMs} ms`), { timeout: true }), null);
  }, timeoutMs);
  socket.once('connect', () => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.removeAllListeners('error');
    connection = new UpstreamConnection(socket, upstream);
    callback(null, connection);
  });
  socket.once('error', (error) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.destroy();
    callback(error, null);
  });
}

/** A connection to one upstream; carries one exchange at a time. */
export class UpstreamConnection {
  /** Exchanges completed on this connection (0 = fresh). */
  served = 0;
  /** Performance-clock time it went idle (for the idle timeout). */
  idleSince = 0;
  /** Performance-clock time by which the next upstream byte must arrive (read timeout). */
  deadline = Infinity;
  closed = false;
  /** Where this connection sits in its upstream's busy list, -1 when not busy (Upstream.addBusy). */
  busyIndex = -1;

  private handler: ExchangeHandler | null = null;
  private phase = HEAD;
  private pending: Buffer | null = null;
  private received = false;
  private headRequest = false;
  private remaining = 0;
  private decoder: ChunkedDecoder | null = null;
  private reusable = true;
  private paused = false;
  private readTimeout = 0;
  private sendTimeout = 0;
  private readonly onDecoded = (chunk: Buffer) => {
    if (this.handler !== null && !this.handler.onBody(chunk)) this.pause();
  };

  constructor(
    readonly socket: net.Socket,
    readonly upstream: Upstream,
  ) {
    socket.setNoDelay(true);
    socket.on('end', () => this.handleClose('the upstream closed the connection'));
    socket.on('close', () => this.handleClose('the connection closed'));
    socket.on('error', (error) => this.handleClose(error.message));
  }

  /** True if this connection has carried a request before (its failures may be a stale keep-alive). */
  get reused(): boolean {
    return this.served > 0;
  }

  /**
   * Send one request: `head` is the complete serialized request head (ending in a blank line),
   * `body` the buffered body or null. `headRequest` says the response has no body whatever its
   * headers say. The outcome goes to `handler`. `now` is the caller's performance.now().
   */
  send(
    head: string,
    encoding: BufferEncoding,
    body: Buffer | null,
    headRequest: boolean,
    handler: ExchangeHandler,
    readTimeoutMs: number,
    sendTimeoutMs: number,
    now: number,
  ): void {
    this.handler = handler;
    this.phase = HEAD;
    this.pending = null;
    this.received = false;
    this.headRequest = headRequest;
    this.decoder = null;
    this.readTimeout = readTimeoutMs;
    this.sendTimeout = sendTimeoutMs;
    this.deadline = readTimeoutMs > 0 ? now + readTimeoutMs : Infinity;
    this.upstream.addBusy(this);
    const socket = this.socket;
    if (body === null || body.length === 0) {
      socket.write(head, encoding);
    } else {
      socket.cork();
      socket.write(head, encoding);
      socket.write(body);
      socket.uncork();
    }
  }

  /** Continue reading after `onBody` returned false. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.readTimeout > 0) this.deadline = performance.now() + this.readTimeout;
    this.socket.resume();
  }

  /** The deadline passed (called by the proxy's timer sweep): read timeout, or send timeout while paused. */
  timeout(): void {
    if (this.paused) this.fail('client-stalled', `the client read nothing for ${this.sendTimeout} ms`);
    else this.fail('timeout', `no response from ${this.upstream.label} within ${this.readTimeout} ms`);
  }

  /** Drop the exchange and the connection (the client went away mid-response). */
  abandon(): void {
    this.handler = null;
    this.destroy();
  }

  /** Close the connection (idle timeout, shutdown, or it can't be reused). */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.upstream.removeBusy(this);
    const idle = this.upstream.idle;
    const at = idle.indexOf(this);
    if (at !== -1) idle.splice(at, 1);
    this.socket.destroy();
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    // Waiting for the client is not the upstream's fault: the send timeout applies instead.
    this.deadline = this.sendTimeout > 0 ? performance.now() + this.sendTimeout : Infinity;
    this.socket.pause();
  }

  /** Bytes read from the upstream (a view into READ_BUFFER); returns false to pause reading. */
  handleData(chunk: Buffer): boolean {
    const handler = this.handler;
    if (handler === null) {
      // Bytes while idle: the upstream is confused (or malicious). Never let them reach a client.
      this.destroy();
      return false;
    }
    this.received = true;
    if (this.phase === HEAD) this.handleHead(handler, chunk);
    else this.handleBody(chunk, 0);
    // The read timeout runs from the last read; a response completed by this read needs no clock.
    if (this.handler !== null && this.readTimeout > 0 && !this.paused) this.deadline = performance.now() + this.readTimeout;
    return !this.paused;
  }

  private handleHead(handler: ExchangeHandler, chunk: Buffer): void {
    let buffer = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    let head: ResponseHead;
    let bodyStart: number;
    for (;;) {
      // The head is searched and parsed as latin1 text (one character per byte, so offsets stay
      // byte offsets): string search and charCodeAt stay in optimized JS, where Buffer#indexOf
      // is a call into C++ per request. Only the first HEAD_SCAN bytes are decoded, so a large
      // body in the same read costs nothing extra.
      let text = buffer.toString('latin1', 0, buffer.length < HEAD_SCAN ? buffer.length : HEAD_SCAN);
      let end = text.indexOf('\r\n\r\n');
      if (end === -1 && buffer.length > HEAD_SCAN) {
        end = buffer.indexOf(CRLFCRLF);
        if (end !== -1) text = buffer.toString('latin1', 0, end);
      }
      if (end === -1) {
        if (buffer.length > MAX_RESPONSE_HEAD) return this.fail('invalid', 'response head too large');
        // The read buffer is reused by the next read: keep a copy of what points into it.
        this.pending = buffer.buffer === READ_BUFFER.buffer ? Buffer.from(buffer) : buffer;
        return;
      }
      const parsed = parseResponseHead(text, end, buffer);
      if ('failed' in parsed) return this.fail('invalid', `${parsed.kind}: ${parsed.reason}`);
      bodyStart = end + 4;
      if (parsed.status >= 200) {
        head = parsed;
        break;
      }
      // 1xx interim responses (100 Continue, 103 Early Hints) are skipped; 101 would switch
      // protocols, and the front never asks for an upgrade.
      if (parsed.status === 101) return this.fail('invalid', 'unexpected 101 Switching Protocols');
      buffer = buffer.subarray(bodyStart);
    }
    this.pending = null;
    if (!head.keepAlive) this.reusable = false;

    const rest = buffer.length - bodyStart;
    if (this.headRequest || head.status === 204 || head.status === 304) {
      if (rest > 0) this.reusable = false;
      return this.complete(head, EMPTY);
    }
    if (head.chunked) {
      const decoder = (this.decoder = new ChunkedDecoder());
      if (rest > 0) {
        // Small chunked responses usually arrive whole: decode, and send them with a length.
        const parts: Buffer[] = [];
        const ended = decoder.feed(buffer, bodyStart, (part) => parts.push(part));
        if (typeof ended !== 'number') return this.fail('invalid', ended.reason);
        if (ended !== -1) {
          if (ended < buffer.length) this.reusable = false;
          return this.complete(head, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
        }
        this.phase = BODY_CHUNKED;
        handler.onHead(head, -1);
        for (const part of parts) this.onDecoded(part);
        return;
      }
      this.phase = BODY_CHUNKED;
      handler.onHead(head, -1);
      return;
    }
    if (head.contentLength >= 0) {
      const length = head.contentLength;
      if (rest >= length) {
        if (rest > length) this.reusable = false;
        return this.complete(head, buffer.subarray(bodyStart, bodyStart + length));
      }
      this.phase = BODY_LENGTH;
      this.remaining = length;
      handler.onHead(head, length);
      if (rest > 0) this.handleBody(buffer, bodyStart);
      return;
    }
    // No length, not chunked: the body runs until the upstream closes (HTTP/1.0 style).
    this.reusable = false;
    this.phase = BODY_UNTIL_CLOSE;
    handler.onHead(head, -1);
    if (rest > 0) this.handleBody(buffer, bodyStart);
  }

  private handleBody(buffer: Buffer, start: number): void {
    const handler = this.handler!;
    if (this.phase === BODY_LENGTH) {
      const available = buffer.length - start;
      if (available > this.remaining) this.reusable = false; // extra bytes after the body
      const take = Math.min(available, this.remaining);
      this.remaining -= take;
      const more = handler.onBody(start === 0 && take === buffer.length ? buffer : buffer.subarray(start, start + take));
      if (this.remaining === 0) return this.finish();
      if (!more) this.pause();
      return;
    }
    if (this.phase === BODY_CHUNKED) {
      const ended = this.decoder!.feed(buffer, start, this.onDecoded);
      if (typeof ended !== 'number') return this.fail('broken', ended.reason);
      if (ended === -1) return;
      if (ended < buffer.length) this.reusable = false;
      return this.finish();
    }
    if (!handler.onBody(start === 0 ? buffer : buffer.subarray(start))) this.pause();
  }

  private complete(head: ResponseHead, body: Buffer): void {
    const handler = this.handler!;
    const now = performance.now();
    this.release(now);
    handler.onComplete(head, body, now);
  }

  private finish(): void {
    const handler = this.handler!;
    this.release(performance.now());
    handler.onEnd();
  }

  /** The exchange is over at `now`: back to the pool if the connection is clean, else close it. */
  private release(now: number): void {
    this.handler = null;
    this.served++;
    this.upstream.removeBusy(this);
    this.deadline = Infinity;
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    if (this.reusable && !this.closed && this.upstream.idle.length < this.upstream.maxIdle) {
      this.idleSince = now;
      this.upstream.idle.push(this);
    } else {
      this.destroy();
    }
  }

  private handleClose(reason: string): void {
    const handler = this.handler;
    if (handler === null) {
      this.destroy();
      return;
    }
    if (this.phase === BODY_UNTIL_CLOSE) {
      this.reusable = false;
      return this.finish();
    }
    if (!this.received) return this.fail('no-response', `${reason} before sending a response`);
    this.fail(this.phase === HEAD ? 'invalid' : 'broken', `${reason} in the middle of the response`);
  }

  private fail(failure: ExchangeFailure, detail: string): void {
    const handler = this.handler;
    this.handler = null;
    this.destroy();
    handler?.onFailure(failure, detail);
  }
}
