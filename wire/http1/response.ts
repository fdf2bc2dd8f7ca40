/**
 * Writing one HTTP/1.1 response on an Http1Connection: a whole response at once (`send`), or a
 * head and then a streamed body (`start`, `write`, `end`) with backpressure.
 *
 * The connection decides the framing the client can read: Content-Length when the length is
 * known, chunked for HTTP/1.1 otherwise, and for HTTP/1.0 a body delimited by closing the
 * connection. HEAD responses and 1xx/204/304 never carry a body, whatever the caller passes
 * (RFC 9110 §9.3.2, §15.3.5, §15.4.5). Header names and values are written as latin1: one byte
 * per character, so obs-text passed on from an upstream keeps its bytes.
 */
import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';
import { bodyless, statusLine as statusText } from '../status-line.ts';
import type { Http1Connection } from './connection.ts';
import { outputBuffer } from './output-buffer.ts';
import type { PreparedField, PreparedResponse } from './prepared-response.ts';

/** 'HTTP/1.1 200 OK\r\n' for every standard status, made once from the one status-line table. */
const STATUS_LINES: string[] = [];
for (const code in STATUS_CODES) STATUS_LINES[Number(code)] = `HTTP/1.1 ${statusText(Number(code))}\r\n`;

/** The status line for `status` with `reason` ('' or the standard phrase: the cached line). */
export function statusLine(status: number, reason: string): string {
  if (reason === '' || reason === STATUS_CODES[status]) return STATUS_LINES[status] ?? `HTTP/1.1 ${statusText(status)}\r\n`;
  return `HTTP/1.1 ${status} ${reason}\r\n`;
}

let dateLine = '';
/** `dateLine` as bytes, for responses assembled from bytes (sendPrepared). */
let dateBytes = Buffer.alloc(0);
/** Performance-clock time at which `dateLine` goes stale: when the wall clock reaches its next second. */
let dateUntil = -Infinity;
/**
 * `Date: …\r\n`, formatted at most once a second. Each response reads the monotonic clock (a
 * fast call), the wall clock only when the cached line's second is over: Date.now() is a
 * runtime call that cost about twice as much, on every response. A step of the wall clock is
 * seen within a second.
 */
function dateHeader(now: number): string {
  if (now < dateUntil) return dateLine;
  const wall = Date.now();
  const intoSecond = wall % 1000;
  dateLine = 'Date: ' + new Date(wall - intoSecond).toUTCString() + '\r\n';
  dateBytes = Buffer.from(dateLine, 'latin1');
  dateUntil = now + (1000 - intoSecond);
  return dateLine;
}

/** The Connection line a head ends with, by Http1Response.connectionLine(): none, close, keep-alive. */
const LINE_NONE = 0;
const LINE_CLOSE = 1;
const LINE_KEEP_ALIVE = 2;
type ConnectionLine = typeof LINE_NONE | typeof LINE_CLOSE | typeof LINE_KEEP_ALIVE;
const CONNECTION_TEXT = ['', 'Connection: close\r\n', 'Connection: keep-alive\r\n'] as const;
/** The same lines as bytes, for responses assembled from bytes (sendPrepared). */
const CONNECTION_BYTES = [null, Buffer.from(CONNECTION_TEXT[LINE_CLOSE], 'latin1'), Buffer.from(CONNECTION_TEXT[LINE_KEEP_ALIVE], 'latin1')] as const;

/** Bytes `fields` (a flat name, value list) take as header lines. */
function fieldsSize(fields: readonly string[]): number {
  let size = 0;
  for (let i = 0; i < fields.length; i += 2) size += fields[i]!.length + fields[i + 1]!.length + 4;
  return size;
}

/**
 * Write `fields` as header lines at `at` (latin1, as `send` writes them: Buffer#write's
 * runtime call beat a charCodeAt loop over these short strings); returns the offset after them.
 */
function putFields(out: Buffer, at: number, fields: readonly string[]): number {
  for (let i = 0; i < fields.length; i += 2) {
    at += out.write(fields[i]!, at, 'latin1');
    out[at++] = 58; // ':'
    out[at++] = 32;
    at += out.write(fields[i + 1]!, at, 'latin1');
    out[at++] = 13;
    out[at++] = 10;
  }
  return at;
}

/** Bodies up to this size are copied into one buffer with the head (one write, caller's buffer free at once). */
const COPY_LIMIT = 64 * 1024;
const CRLF = '\r\n';

const OPEN = 0;
const STREAMING = 1;
const DONE = 2;

/** The response to one request. Exactly one of `send` or `start`…`end` (or `destroy`) per response. */
export class Http1Response {
  /** True once the client has gone away before the response was complete. */
  aborted = false;
  /** Called once if the client goes away before the response is complete. */
  onAbort: (() => void) | null = null;
  /** Called once when the response is over: complete, cut, or the client gone (`aborted`). */
  onFinish: ((res: Http1Response) => void) | null = null;
  /** Set false before answering to close the connection after this response. */
  keepAlive: boolean;
  /** Status sent (0 until then), and body bytes sent, for the access log. */
  status = 0;
  bytes = 0;
  private state = OPEN;
  private chunked = false;
  private bodyless = false;

  constructor(
    readonly connection: Http1Connection,
    /** The request's method (HEAD responses carry no body). */
    readonly method: string,
    /** The request's minor version: 0 for HTTP/1.0. */
    readonly minor: number,
    keepAlive: boolean,
    /** performance.now() when the request head was complete. */
    readonly receivedAt: number,
  ) {
    this.keepAlive = keepAlive;
  }

  /** Has the response been completed (or the connection cut)? */
  get finished(): boolean {
    return this.state === DONE;
  }

  /** True once the head has gone out. */
  get headersSent(): boolean {
    return this.state !== OPEN;
  }

  /**
   * The performance clock now, for the Date line and the keep-alive deadline: the receipt time
   * when answered within the read that brought the request (microseconds earlier; a clock read
   * saved per response), else read afresh.
   */
  private clock(): number {
    return this.connection.handling ? this.receivedAt : performance.now();
  }

  /** The head for `status`…; `now`: the performance clock, read once per response by the caller. */
  private head(status: number, reason: string, headers: readonly string[], length: number, now: number): string {
    let head = statusLine(status, reason);
    for (let i = 0; i < headers.length; i += 2) head += headers[i]! + ': ' + headers[i + 1]! + CRLF;
    head += dateHeader(now);
    if (length >= 0) head += 'Content-Length: ' + length + CRLF;
    else if (this.chunked) head += 'Transfer-Encoding: chunked\r\n';
    return head + CONNECTION_TEXT[this.connectionLine()] + CRLF;
  }

  /**
   * Which Connection line ends this response's head, settling whether the connection stays open:
   * close when the response or a graceful shutdown asked for it; keep-alive spelled out for an
   * HTTP/1.0 client, whose default is to close (RFC 9112 §9.3); none otherwise.
   */
  private connectionLine(): ConnectionLine {
    if (!this.keepAlive || this.connection.draining) {
      this.keepAlive = false;
      return LINE_CLOSE;
    }
    return this.minor === 0 ? LINE_KEEP_ALIVE : LINE_NONE;
  }

  /**
   * Send a whole response. `headers` is a flat name, value list without framing fields. `length`
   * is the Content-Length to announce (default: the body's size; for HEAD, the size a GET would
   * get; -1: none, for 1xx/204/304). The body is copied when small, so the caller's buffer may be
   * reused at once; a larger one must stay unchanged until written.
   */
  send(status: number, reason: string, headers: readonly string[], body: Buffer | null, length = body === null ? 0 : body.length): void {
    if (this.state !== OPEN) return;
    this.state = DONE;
    this.status = status;
    const noBody = this.method === 'HEAD' || bodyless(status);
    if (bodyless(status)) length = -1;
    // One clock reading for the Date line and the connection's keep-alive deadline.
    const now = this.clock();
    const head = this.head(status, reason, headers, length, now);
    const socket = this.connection.socket;
    if (noBody || body === null || body.length === 0) {
      socket.write(head, 'latin1');
    } else if (body.length <= COPY_LIMIT) {
      const out = outputBuffer(head.length + body.length);
      out.write(head, 0, 'latin1');
      body.copy(out, head.length);
      socket.write(out);
      this.bytes = body.length;
    } else {
      socket.cork();
      socket.write(head, 'latin1');
      socket.write(body);
      socket.uncork();
      this.bytes = body.length;
    }
    this.finish();
    this.connection.responseDone(this, now);
  }

  /**
   * Send `prepared` whole: its status line and fields, then this response's own `field` with
   * `value` and the fields in `more` (a flat name, value list, e.g. fields every response
   * carries), then Date, Content-Length and Connection exactly as `send` writes them, then the
   * body (none for HEAD). The same bytes as `send` with all those fields, assembled by copying.
   */
  sendPrepared(prepared: PreparedResponse, field: PreparedField, value: string, more: readonly string[]): void {
    if (this.state !== OPEN) return;
    this.state = DONE;
    this.status = prepared.status;
    const now = this.clock();
    dateHeader(now);
    const date = dateBytes;
    const connection = CONNECTION_BYTES[this.connectionLine()];
    const fixed = prepared.head;
    const lengthLine = prepared.lengthLine;
    const name = field.bytes;
    const headSize = fixed.length + name.length + value.length + 2 + fieldsSize(more) + date.length + lengthLine.length + (connection === null ? 0 : connection.length) + 2;
    const body = this.method === 'HEAD' ? null : prepared.body;
    const bodySize = body === null ? 0 : body.length;
    const together = bodySize <= COPY_LIMIT;
    const out = outputBuffer(together ? headSize + bodySize : headSize);
    out.set(fixed, 0);
    let at = fixed.length;
    out.set(name, at);
    at += name.length;
    at += out.write(value, at, 'latin1');
    out[at++] = 13;
    out[at++] = 10;
    at = putFields(out, at, more);
    out.set(date, at);
    at += date.length;
    out.set(lengthLine, at);
    at += lengthLine.length;
    if (connection !== null) {
      out.set(connection, at);
      at += connection.length;
    }
    out[at++] = 13;
    out[at++] = 10;
    const socket = this.connection.socket;
    if (body === null || bodySize === 0) socket.write(out);
    else if (together) {
      out.set(body, at);
      socket.write(out);
    } else {
      socket.cork();
      socket.write(out);
      socket.write(body);
      socket.uncork();
    }
    this.bytes = bodySize;
    this.finish();
    this.connection.responseDone(this, now);
  }

  /**
   * Start a streamed response: `length` is the body size, or -1 when unknown (chunked for
   * HTTP/1.1 clients, closed after the body for HTTP/1.0 ones).
   */
  start(status: number, reason: string, headers: readonly string[], length: number): void {
    if (this.state !== OPEN) return;
    this.state = STREAMING;
    this.status = status;
    this.bodyless = this.method === 'HEAD' || bodyless(status);
    if (bodyless(status)) length = -1;
    else if (length < 0 && !this.bodyless) {
      if (this.minor === 1) this.chunked = true;
      else this.keepAlive = false;
    }
    this.connection.socket.write(this.head(status, reason, headers, length, performance.now()), 'latin1');
  }

  /**
   * Send body bytes of a streamed response; false means the client is slow (wait for
   * `whenWritable`). `stable`: the caller will not change `chunk` later (else it is copied).
   */
  write(chunk: Buffer, stable = false): boolean {
    if (this.state !== STREAMING || this.bodyless || chunk.length === 0) return true;
    const socket = this.connection.socket;
    const data = stable ? chunk : Buffer.from(chunk);
    this.bytes += data.length;
    let ok: boolean;
    if (this.chunked) {
      socket.cork();
      socket.write(data.length.toString(16) + CRLF, 'latin1');
      socket.write(data);
      ok = socket.write(CRLF, 'latin1');
      socket.uncork();
    } else {
      ok = socket.write(data);
    }
    if (!ok) this.connection.waitingForDrain();
    return ok;
  }

  /** Call `resume` once the client has taken what was written. */
  whenWritable(resume: () => void): void {
    this.connection.onDrain(resume);
  }

  /** The streamed body is complete. */
  end(): void {
    if (this.state !== STREAMING) return;
    this.state = DONE;
    if (this.chunked) this.connection.socket.write('0\r\n\r\n', 'latin1');
    this.finish();
    this.connection.responseDone(this, performance.now());
  }

  /** Cut the connection: a response that broke midway cannot be finished honestly. */
  destroy(): void {
    if (this.state === DONE) return;
    this.state = DONE;
    this.connection.socket.destroy();
    this.finish();
  }

  /** The client went away (called by the connection). */
  abort(): void {
    if (this.state === DONE) return;
    this.state = DONE;
    this.aborted = true;
    const onAbort = this.onAbort;
    this.onAbort = null;
    onAbort?.();
    this.finish();
  }

  private finish(): void {
    const onFinish = this.onFinish;
    this.onFinish = null;
    onFinish?.(this);
  }
}
