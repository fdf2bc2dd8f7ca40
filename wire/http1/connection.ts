/**
 * One client connection of an HTTP/1.1 server over node:net: the state machine that reads
 * requests, buffers their bodies, hands each complete request to the handler, and answers what
 * must be refused.
 *
 *   IDLE ──head──► BODY ──body──► BUSY ──response done──► IDLE (keep-alive) or CLOSING
 *     │                                                    (Connection: close, HTTP/1.0, refusal)
 *     └── malformed, too large, timed out: status + Connection: close ──► CLOSING
 *
 * Requests are handled one at a time, in order: bytes pipelined behind a request wait in the
 * buffer until its response is done, so responses go out in request order (RFC 9112 §9.3.2) and
 * nothing behind a refused request or a `Connection: close` is ever read as a request. A
 * refusal is written, then the connection is half-closed and what the client still sends is
 * read and dropped for a moment (Nginx's lingering close), so the refusal is not lost to a
 * reset. Timeouts are deadlines checked by the server's sweep, not a timer per request.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { plainBody, TEXT_PLAIN } from '../plain-reply.ts';
import { statusLine } from '../status-line.ts';
import { ChunkedDecoder } from './chunked-decoder.ts';
import { requestFailure } from './failure.ts';
import type { RequestFailure } from './failure.ts';
import { HeadScan, partialRequestLine } from './head-scan.ts';
import { emptyLinesBefore, readBodyPiece, readRequestHead } from './read-head.ts';
import type { RequestHead } from './request-head.ts';
import { Http1Response } from './response.ts';
import type { Http1Host } from './handler.ts';
import { isSharedReadView } from './shared-read.ts';

// The interface lived here first; servers built on it may still import it from here.
export type { Http1Handler, Http1Host, Http1Settings } from './handler.ts';

const IDLE = 0;
const BODY = 1;
const BUSY = 2;
const CLOSING = 3;

/** How long a refused connection keeps reading (and dropping) what the client still sends. */
const LINGER_MS = 2000;
/** Bytes of unread pipelined input (or unsent output) past which reading pauses. */
const BACKLOG_LIMIT = 256 * 1024;
/**
 * A response body at least this large, sent at once, makes the connection's next pipelined
 * request wait for a later event-loop turn (Http1Host.later). Why: a client that pipelines
 * requests for large files and never reads them gets each one copied into the kernel's socket
 * buffers as fast as they take it (megabytes on loopback); served back to back, 50 such clients
 * kept the event loop busy for most of a second and every other client waited (bench/RESULTS.md,
 * "The front under hostile clients").
 */
const LARGE_RESPONSE = 64 * 1024;
/**
 * First capacity of the buffer a request arriving in pieces is gathered in (a partial head,
 * pipelined bytes, a body); it doubles as needed, so a request sent a byte at a time is copied
 * about twice in all instead of once per byte.
 */
const GATHER_START = 1024;
/** First capacity of a body gathered in pieces: all of a smaller declared body, else this much, doubling up to the declared size. */
const BODY_GATHER_START = 16 * 1024;

/**
 * A client that trickles its request (slowloris, a slow POST) is read in batches: after
 * TRICKLE_READS reads in a row of fewer than TINY_READ bytes each that left the request
 * unfinished, the connection is not read again for READ_BATCH_MS, and the bytes that arrived
 * meanwhile (the kernel keeps them; TCP flow control holds the client past its window) are read
 * at once. Why: each read costs a system call and a callback whatever its size, so a client
 * sending a byte every 10 ms cost a read per byte — hundreds of such clients kept the event
 * loop busy and every other client waited behind them (bench: slow clients). Read every 100 ms,
 * the same clients cost about a tenth of the reads. What such a client sees: its request is
 * complete at most READ_BATCH_MS later than it sent its last byte, which it cannot tell from a
 * slow link. A client whose request arrives in one or a few pieces (every ordinary one: a head
 * split over two packets, a body written after its head) is never held. Deadlines (the header
 * and body timeouts) run as before.
 */
const TINY_READ = 32;
const TRICKLE_READS = 4;
const READ_BATCH_MS = 100;

/** A buffer of at least `need` bytes holding `have[0, used)`: `have` itself when it has room, else one of twice the size (or `need`, at most `limit`). */
function room(have: Buffer | null, used: number, need: number, first: number, limit: number): Buffer {
  if (have !== null && have.length >= need) return have;
  const size = Math.min(Math.max(need, have === null ? first : have.length * 2), Math.max(need, limit));
  // Not from the shared pool: a gathering buffer may live as long as a slow client, and would keep a whole pool slab alive.
  const grown = Buffer.allocUnsafeSlow(size);
  if (have !== null && used > 0) have.copy(grown, 0, 0, used);
  return grown;
}

/** The deadline `ms` from now; 0 means no limit. */
function after(ms: number): number {
  return ms > 0 ? performance.now() + ms : Infinity;
}

export class Http1Connection {
  /** The client's address, asked of the kernel once per connection. */
  readonly remoteAddress: string;
  /** Performance-clock time by which the current phase must end (Infinity: none). */
  deadline: number;
  private state = IDLE;
  private buffer: Buffer | null = null;
  private head: RequestHead | null = null;
  private current: Http1Response | null = null;
  /**
   * The body gathered so far: the first piece as it came (a body in one read is never copied),
   * then every piece copied into `bodyStore`, whose first `bodySize` bytes are the body.
   */
  private bodyFirst: Buffer | null = null;
  private bodyStore: Buffer | null = null;
  private bodySize = 0;
  /** Where the bytes of a request arriving in pieces are gathered: `buffer` is a view of it when it ends at `gatherEnd`. */
  private gather: Buffer | null = null;
  private gatherEnd = 0;
  private readonly headScan = new HeadScan();
  private decoder: ChunkedDecoder | null = null;
  private dispatching = false;
  /** The first line of the request being read, for the refusal's log entry. */
  private requestLine = '';
  private peerEnded = false;
  private paused = false;
  /** Tiny reads in a row of the request being read (see READ_BATCH_MS). */
  private tinyReads = 0;
  /** Not reading until the batch timer fires (a trickling client). */
  private batching = false;
  private drainWaiters: (() => void)[] = [];
  private sendDeadline = Infinity;
  /** Pipelined requests wait for the server to call resumeTurn() (after a large response). */
  private waitingTurn = false;
  private bodyPartsPush = (part: Buffer): void => {
    if (part.length === 0) return;
    if (this.bodySize === 0 && this.bodyStore === null) {
      // A view of the shared read buffer is overwritten by the next read: keep a copy.
      this.bodyFirst = this.sharedReads && isSharedReadView(part) ? Buffer.from(part) : part;
      this.bodySize = part.length;
      return;
    }
    // Pieces after the first are copied into one buffer that doubles as it fills, rather than
    // kept one object each: a body sent a byte at a time would otherwise hold thousands of
    // one-byte Buffers per connection until it ends (memory, and garbage collection for all).
    const need = this.bodySize + part.length;
    const declared = this.head !== null && this.head.contentLength > 0 ? this.head.contentLength : this.host.settings.maxBodySize;
    const store = room(this.bodyStore, this.bodySize, need, Math.min(declared, BODY_GATHER_START), declared);
    if (this.bodyStore === null) this.bodyFirst!.copy(store, 0);
    this.bodyStore = store;
    this.bodyFirst = null;
    part.copy(store, this.bodySize);
    this.bodySize = need;
  };

  /**
   * `sharedReads`: the server passes each read to `receive` as a view of the buffer every
   * connection reads into (wire/http1/shared-read.ts); otherwise the socket's 'data' events do.
   */
  constructor(
    readonly socket: Socket,
    private readonly host: Http1Host,
    private readonly sharedReads = false,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.deadline = after(host.settings.headerTimeoutMs);
    // No setNoDelay here: TCP_NODELAY is already on the descriptor (the servers accept with
    // `noDelay: true`, Http1Server.adopt sets it), and asking again is a system call per connection.
    if (!sharedReads) socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('drain', () => this.onDrainEvent());
    socket.on('error', () => {}); // 'close' follows
    socket.on('close', () => this.onClose());
  }

  /**
   * The handler is running for a request of the read being handled: a response completed now
   * is completed within the read that brought its request (whose clock reading it can reuse).
   */
  get handling(): boolean {
    return this.dispatching;
  }

  /** Graceful shutdown asked every response to close its connection. */
  get draining(): boolean {
    return this.host.draining;
  }

  /** Waiting for a request with nothing half-received: safe to close now. */
  get idle(): boolean {
    return this.state === IDLE && (this.buffer === null || this.buffer.length === 0);
  }

  /** Close at once if idle (graceful shutdown); otherwise the current response will close it. */
  closeIfIdle(): void {
    if (this.idle) this.socket.destroy();
  }

  /** Has a deadline passed? (The sweep's cheap test; checkDeadline acts on it.) */
  deadlinePassed(now: number): boolean {
    return this.sendDeadline <= now || this.deadline <= now;
  }

  /** The sweep: apply whichever deadline has passed. */
  checkDeadline(now: number): void {
    if (this.sendDeadline <= now) {
      this.socket.destroy();
      return;
    }
    if (this.deadline > now) return;
    const settings = this.host.settings;
    if (this.state === IDLE) {
      if (this.buffer === null || this.buffer.length === 0) this.socket.destroy(); // keep-alive ran out
      else this.refuseHead(requestFailure('header-timeout', `Request timeout: the request head did not arrive within ${settings.headerTimeoutMs} ms.`), this.buffer, emptyLinesBefore(this.buffer));
    } else if (this.state === BODY) {
      this.refuse(requestFailure('body-timeout', `Request timeout: no body data for ${settings.bodyTimeoutMs} ms.`));
    } else if (this.state === CLOSING) {
      this.socket.destroy();
    }
  }

  /** The response wrote more than the socket took at once: the send timeout runs until 'drain'. */
  waitingForDrain(): void {
    const ms = this.host.settings.sendTimeoutMs;
    if (ms > 0 && this.sendDeadline === Infinity) this.sendDeadline = performance.now() + ms;
  }

  onDrain(resume: () => void): void {
    if (!this.socket.writableNeedDrain) {
      queueMicrotask(resume);
      return;
    }
    this.waitingForDrain();
    this.drainWaiters.push(resume);
  }

  /** Called by the response when it is complete, at `now` (the performance clock). */
  responseDone(res: Http1Response, now: number): void {
    if (res !== this.current) return;
    this.current = null;
    if (this.socket.writableNeedDrain) this.waitingForDrain();
    if (!res.keepAlive) return this.closeGracefully();
    this.state = IDLE;
    const pipelined = this.buffer !== null && this.buffer.length > 0;
    const ms = pipelined ? this.host.settings.headerTimeoutMs : this.host.settings.keepAliveTimeoutMs;
    this.deadline = ms > 0 ? now + ms : Infinity;
    if (pipelined && res.bytes >= LARGE_RESPONSE) {
      this.waitingTurn = true;
      this.host.later(this, res.bytes);
      return;
    }
    if (!this.dispatching) this.readRequests();
  }

  /** The server's turn for the pipelined requests held back by a large response. */
  resumeTurn(): void {
    this.waitingTurn = false;
    if (this.state === IDLE && !this.socket.destroyed) this.readRequests();
  }

  /** Bytes read into the shared buffer: handled now, and what is kept of them copied. */
  receive(chunk: Buffer): boolean {
    this.onData(chunk);
    const left = this.buffer;
    if (left !== null && isSharedReadView(left)) {
      // Kept in the gathering buffer, so the next piece of this request is appended to it.
      const gather = room(null, 0, left.length, GATHER_START, Infinity);
      left.copy(gather, 0);
      this.gather = gather;
      this.gatherEnd = left.length;
      this.buffer = gather.subarray(0, left.length);
      this.headScan.carry(left, this.buffer);
    }
    return true;
  }

  /**
   * `this.buffer` followed by `chunk`. Appended into the gathering buffer when `this.buffer` ends
   * where it does (each byte of the gathering buffer is written once, so views of it handed out
   * earlier, a body or pipelined bytes, never change); otherwise gathered anew.
   */
  private append(chunk: Buffer): Buffer {
    const buffer = this.buffer!;
    const gather = this.gather;
    let grown: Buffer;
    if (gather !== null && buffer.buffer === gather.buffer && buffer.byteOffset + buffer.length === gather.byteOffset + this.gatherEnd && this.gatherEnd + chunk.length <= gather.length) {
      chunk.copy(gather, this.gatherEnd);
      this.gatherEnd += chunk.length;
      grown = gather.subarray(buffer.byteOffset - gather.byteOffset, this.gatherEnd);
    } else {
      const fresh = room(null, 0, 2 * (buffer.length + chunk.length), GATHER_START, Infinity);
      buffer.copy(fresh, 0);
      chunk.copy(fresh, buffer.length);
      this.gather = fresh;
      this.gatherEnd = buffer.length + chunk.length;
      grown = fresh.subarray(0, this.gatherEnd);
    }
    this.headScan.carry(buffer, grown);
    return grown;
  }

  private onData(chunk: Buffer): void {
    if (this.state === CLOSING) return; // lingering: read and drop
    if (this.buffer === null || this.buffer.length === 0) {
      this.buffer = chunk;
      this.gather = null; // a new request: the last one's gathering buffer (if any) is let go
    } else this.buffer = this.append(chunk);
    if (this.state === BUSY || this.waitingTurn) {
      if (this.buffer.length > BACKLOG_LIMIT) this.pauseReading();
      return;
    }
    if (this.state === IDLE) {
      // One clock read for this read's header deadline and the receipt time of the requests it completes.
      const now = performance.now();
      const ms = this.host.settings.headerTimeoutMs;
      const headerDeadline = ms > 0 ? now + ms : Infinity;
      if (this.deadline > headerDeadline) this.deadline = headerDeadline; // a new request began: header timeout from now
      this.readRequests(now);
    } else if (this.state === BODY) {
      this.readBody();
      if ((this.state as number) === IDLE) this.readRequests(); // the body completed and its response is done
    }
    if (chunk.length >= TINY_READ) this.tinyReads = 0;
    else if (++this.tinyReads >= TRICKLE_READS && (this.state === BODY || (this.state === IDLE && this.buffer !== null && this.buffer.length > 0))) this.readLater();
  }

  /** A trickling client: read what it sent in one go, READ_BATCH_MS from now. */
  private readLater(): void {
    if (this.batching || this.socket.destroyed) return;
    this.batching = true;
    this.socket.pause();
    setTimeout(this.readBatch, READ_BATCH_MS).unref();
  }

  private readonly readBatch = (): void => {
    if (!this.batching) return;
    this.batching = false;
    // Reading stays paused while a response waits for the client to read it (pauseReading).
    if (!this.paused && !this.socket.destroyed) this.socket.resume();
  };

  private onEnd(): void {
    this.peerEnded = true;
    if (this.state === CLOSING) return void this.socket.destroy();
    if (this.state === BODY) return this.refuse(requestFailure('incomplete', 'Bad request: the connection ended in the middle of the request body.'));
    if (this.state === IDLE) return this.readRequests();
    // BUSY: a client that closes while its request is being answered has gone away, as Nginx
    // reads it (499, "client prematurely closed connection"): stop the work done for it.
    this.socket.destroy();
  }

  private onDrainEvent(): void {
    this.sendDeadline = Infinity;
    const waiters = this.drainWaiters;
    if (waiters.length > 0) {
      this.drainWaiters = [];
      for (const resume of waiters) resume();
    }
    if (this.paused && this.state === IDLE) {
      this.paused = false;
      this.socket.resume();
      this.readRequests();
    }
  }

  private onClose(): void {
    this.state = CLOSING;
    const res = this.current;
    this.current = null;
    res?.abort();
    this.host.forget(this);
  }

  private pauseReading(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  /**
   * Parse and dispatch every complete request in the buffer, one at a time. `readAt`: the
   * performance-clock time of the read that brought the bytes, when the caller has it (the
   * receipt time of the requests it completes); else the clock is read per request.
   */
  private readRequests(readAt = -1): void {
    while (this.state === IDLE && !this.waitingTurn) {
      const buffer = this.buffer;
      if (buffer === null || buffer.length === 0) {
        if (this.peerEnded) this.closeGracefully();
        return;
      }
      if (this.socket.writableLength > BACKLOG_LIMIT) {
        // The client pipelines faster than it reads its responses: wait until it catches up.
        this.pauseReading();
        return;
      }
      if (this.paused) {
        this.paused = false;
        this.socket.resume();
      }
      if (!this.readHead(buffer, readAt)) return;
    }
  }

  /** Try to read one request head from `buffer` (`readAt` as for readRequests); false when more bytes are needed (or it was refused). */
  private readHead(buffer: Buffer, readAt: number): boolean {
    const settings = this.host.settings;
    const read = readRequestHead(buffer, this.headScan, settings, this.peerEnded);
    if (read.kind !== 'head') {
      if (read.kind === 'blank') {
        this.buffer = null; // only empty lines so far
        if (this.peerEnded) this.closeGracefully();
      } else if (read.kind === 'refused') this.refuseHead(read.failure, buffer, read.start);
      return false;
    }
    const { head: parsed, consumed } = read;
    const receivedAt = readAt >= 0 ? readAt : performance.now();
    if (parsed.contentLength > settings.maxBodySize) {
      this.refuse(requestFailure('body-too-large', `Payload too large: the body is ${parsed.contentLength} bytes, the limit is ${settings.maxBodySize}.`), parsed);
      return false;
    }
    this.head = parsed;
    if (parsed.contentLength <= 0 && !parsed.chunked) {
      this.buffer = consumed === buffer.length ? null : buffer.subarray(consumed);
      this.dispatch(parsed, null, receivedAt);
      return true;
    }
    if (parsed.contentLength > 0 && buffer.length - consumed >= parsed.contentLength) {
      // The usual small body that came with its head.
      const bodyEnd = consumed + parsed.contentLength;
      this.buffer = bodyEnd === buffer.length ? null : buffer.subarray(bodyEnd);
      this.dispatch(parsed, buffer.subarray(consumed, bodyEnd), receivedAt);
      return true;
    }
    this.state = BODY;
    this.resetBody();
    this.decoder = parsed.chunked ? new ChunkedDecoder(settings.maxBodySize) : null;
    this.buffer = consumed === buffer.length ? null : buffer.subarray(consumed);
    this.deadline = after(settings.bodyTimeoutMs);
    if (parsed.expectContinue && this.buffer === null) this.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
    this.readBody();
    return this.state === IDLE;
  }

  /** Move buffered bytes into the body; dispatch when it is complete. */
  private readBody(): void {
    const buffer = this.buffer;
    if (buffer === null || buffer.length === 0) {
      if (this.peerEnded) this.refuse(requestFailure('incomplete', 'Bad request: the connection ended in the middle of the request body.'));
      return;
    }
    const settings = this.host.settings;
    const head = this.head!;
    this.deadline = after(settings.bodyTimeoutMs);
    const read = readBodyPiece(buffer, head.contentLength, this.bodySize, this.decoder, this.bodyPartsPush);
    if (read.kind === 'refused') return this.refuse(read.failure, head);
    if (read.kind === 'more') {
      this.buffer = null;
      return;
    }
    this.buffer = read.rest;
    this.decoder = null;
    const body = this.bodyStore !== null ? this.bodyStore.subarray(0, this.bodySize) : (this.bodyFirst ?? Buffer.alloc(0));
    this.resetBody();
    this.dispatch(head, body, performance.now());
  }

  private dispatch(head: RequestHead, body: Buffer | null, receivedAt: number): void {
    // The handler may keep the body past this read (a proxy's socket write that waits, an app
    // that parses it later): never hand it a view of the shared read buffer.
    if (body !== null && this.sharedReads && isSharedReadView(body)) body = Buffer.from(body);
    this.state = BUSY;
    this.head = null;
    this.deadline = Infinity;
    this.tinyReads = 0;
    const res = new Http1Response(this, head.method, head.minor, head.keepAlive, receivedAt);
    this.current = res;
    this.dispatching = true;
    try {
      this.host.handler.onRequest(head, body, res);
    } catch (error) {
      // A handler's bug must not take the process down with it (this runs in a socket event):
      // this client gets a 500 (or, mid-response, a cut connection) and everyone else is served.
      this.host.handler.onError?.(error, this);
      if (!res.finished) {
        if (res.headersSent) res.destroy();
        else {
          res.keepAlive = false;
          res.send(500, '', ['Content-Type', TEXT_PLAIN], plainBody('Internal server error.'));
        }
      }
    } finally {
      this.dispatching = false;
    }
  }

  private resetBody(): void {
    this.bodyFirst = null;
    this.bodyStore = null;
    this.bodySize = 0;
  }

  /** Refuse a request whose head was not accepted, naming what arrived of its first line in the log. */
  private refuseHead(failure: RequestFailure, buffer: Buffer, start: number): void {
    this.requestLine = partialRequestLine(buffer, start);
    this.refuse(failure);
  }

  /** Answer `failure` and close (the rest of the connection cannot be trusted). */
  private refuse(failure: RequestFailure, head: RequestHead | null = null): void {
    if (this.state === CLOSING) return;
    const body = failure.reason + '\n';
    const noBody = head !== null && head.method === 'HEAD';
    const extra = this.host.handler.onRefused(failure, head, this, head === null ? this.requestLine : '');
    this.socket.write(
      `HTTP/1.1 ${statusLine(failure.status)}\r\nContent-Type: ${TEXT_PLAIN}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${noBody ? '' : body}`,
      'latin1',
    );
    this.closeGracefully();
  }

  /** Half-close after the last response; keep reading (and dropping) briefly so it is not lost to a reset. */
  private closeGracefully(): void {
    if (this.state === CLOSING) return;
    this.state = CLOSING;
    this.buffer = null;
    this.gather = null;
    this.resetBody();
    this.deadline = performance.now() + LINGER_MS;
    if (this.paused || this.batching) {
      this.paused = false;
      this.batching = false;
      this.socket.resume();
    }
    this.socket.end();
    if (this.peerEnded) this.socket.once('finish', () => this.socket.destroy());
  }
}
