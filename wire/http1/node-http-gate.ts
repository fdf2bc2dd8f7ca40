/**
 * The project's request reader in front of node:http's parser (llhttp), so that the node:http
 * engines (the app server's and the front's) accept and refuse exactly what the net engines do.
 *
 * Why not llhttp's own verdicts: llhttp is stricter than HTTP in some places (lowercase or
 * unlisted methods, bytes above 0x7F in the target, spaces in chunk extensions) and laxer in
 * others (two spaces after the method, HTTP/0.9 and HTTP/2.0 request lines, trailers unchecked,
 * unbounded chunk extensions), counts the head limit its own way, reads on behind a request that
 * ends the connection, and hands pipelined requests to the handler before the body of the one
 * before them is read. None of that is configurable (`insecureHTTPParser` only loosens it).
 *
 * So every byte the client sends is read here first, by the parser and chunked decoder of the
 * net engines (request-head.ts, chunked-decoder.ts), with the same limits, timeouts and refusals
 * (connection.ts is the model). A request that passes is admitted whole (head parsed, body
 * buffered) and one at a time: llhttp is given a short canonical head for it (method, HTTP
 * version, keep-alive; no fields, no body), so node:http builds its request and response
 * objects and frames the response, and the handler reads the request itself from `gate.head` and
 * `gate.body`. The next request is read only when the response to this one has finished, so
 * responses go out in order and nothing behind a refusal or a `Connection: close` is read.
 *
 * How it sits in node:http (public API only): node:http reads a connection through the 'data'
 * and 'end' listeners it adds when it is given the socket; installGate() takes those two off
 * and calls them itself with the canonical bytes. Adding a 'data' listener is also what makes
 * node:http read through JavaScript rather than straight from the socket's handle.
 */
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { statusLine } from '../status-line.ts';
import { ChunkedDecoder } from './chunked-decoder.ts';
import { requestFailure, type RequestFailure } from './failure.ts';
import type { Http1Settings } from './handler.ts';
import { HeadScan, partialRequestLine } from './head-scan.ts';
import type { RequestHead } from './request-head.ts';
import { emptyLinesBefore, readBodyPiece, readRequestHead } from './read-head.ts';
import { TEXT_PLAIN } from '../plain-reply.ts';

/** What a gate needs from the engine that installs it. */
export interface GateHost {
  /** Read at every use, so a reload's new limits apply to the next request. */
  readonly settings: Http1Settings;
  /**
   * A request is refused (for logs); returns extra header lines for the refusal (`Name: value\r\n`…
   * or ''). As Http1Handler.onRefused: `head` null when the head itself was refused, `requestLine`
   * then what arrived of its first line.
   */
  onRefused(failure: RequestFailure, head: RequestHead | null, remoteAddress: string, requestLine: string): string;
  /** node:http's handling of an admitted request threw (a bug): the connection was cut. */
  onError?(error: unknown, remoteAddress: string): void;
}

const IDLE = 0;
const BODY = 1;
const BUSY = 2;
const CLOSING = 3;

/** As connection.ts: how long a refused connection reads (and drops) what the client still sends. */
const LINGER_MS = 2000;
/** As connection.ts: unread pipelined input past which reading pauses. */
const BACKLOG_LIMIT = 256 * 1024;

/** Methods llhttp is given as they are; any other (lowercase, unlisted, CONNECT, PRI) is given as GET. */
const PLAIN_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE']);

/** Canonical heads by version, keep-alive and method: built once each. */
const CANONICAL: Map<string, Buffer>[] = [new Map(), new Map(), new Map(), new Map()];

/**
 * The head llhttp parses for `head`: the method (HEAD matters to node:http: no response body), the
 * version and keep-alive (they decide node:http's Connection handling). No target, no fields, no
 * body: the handler reads those from the gate.
 */
function canonicalHead(head: RequestHead): Buffer {
  const method = PLAIN_METHODS.has(head.method) ? head.method : 'GET';
  const slot = head.minor * 2 + (head.keepAlive ? 1 : 0);
  let bytes = CANONICAL[slot]!.get(method);
  if (bytes === undefined) {
    const connection = head.minor === 1 ? (head.keepAlive ? '' : 'Connection: close\r\n') : head.keepAlive ? 'Connection: keep-alive\r\n' : '';
    bytes = Buffer.from(`${method} / HTTP/1.${head.minor}\r\n${connection}\r\n`, 'latin1');
    CANONICAL[slot]!.set(method, bytes);
  }
  return bytes;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => void;
const GATE = Symbol('layerstack.gate');
type GatedSocket = Socket & { [GATE]?: NodeHttpGate; _paused?: boolean };

/**
 * The gate of the connection `req` arrived on, told that `res` answers its admitted request (the
 * next request is read when `res` has finished). A gated server's request handler calls this
 * first, for every request.
 */
export function admitted(req: IncomingMessage, res: ServerResponse): NodeHttpGate {
  const gate = (req.socket as GatedSocket)[GATE]!;
  gate.answering(res);
  return gate;
}

/**
 * Put a gate on every connection of `server` (`secure`: an https server, whose connections are
 * handed to node:http on 'secureConnection'). Call once, right after creating the server; its
 * request handler must call admitted() first.
 */
export function installGate(server: HttpServer, host: GateHost, secure = false): void {
  const gates = new Set<NodeHttpGate>();
  GATES.set(server, gates);
  // After node:http's own listener (added by the constructor), so its listeners are there to take.
  server.on(secure ? 'secureConnection' : 'connection', (socket: Socket) => {
    try {
      const onData = takeListener(socket, 'data', 'bound socketOnData');
      const onEnd = takeListener(socket, 'end', 'bound socketOnEnd');
      const gate = new NodeHttpGate(socket as GatedSocket, host, onData, onEnd);
      (socket as GatedSocket)[GATE] = gate;
      gates.add(gate);
      socket.once('close', () => gates.delete(gate));
    } catch (error) {
      // A Node whose node:http reads differently: every connection is refused, loudly, and the
      // process keeps running (the net engine is the way out).
      host.onError?.(error, socket.remoteAddress ?? '');
      socket.destroy();
    }
  });
}

const GATES = new WeakMap<HttpServer, Set<NodeHttpGate>>();

/**
 * Close the connections of a gated `server` that are waiting for a request with nothing of one
 * received (graceful shutdown). Not http.Server.closeIdleConnections(): node:http counts a
 * connection idle while the gate is still reading a request's head or body, which llhttp has not
 * seen, so it would cut an upload in the middle. (http.Server.close() calls that too since Node 19:
 * close the listener with net.Server.prototype.close instead.)
 */
export function closeIdleConnections(server: HttpServer): void {
  for (const gate of GATES.get(server) ?? []) gate.closeIfIdle();
}

/** Remove and return node:http's listener `name` for `event` (it must be there: it is how node:http reads). */
function takeListener(socket: Socket, event: string, name: string): Listener {
  const listener = socket.listeners(event).find((l) => l.name === name) as Listener | undefined;
  if (listener === undefined) throw new Error(`node:http did not add its '${event}' listener (${name}): this Node version is not supported by the gate`);
  socket.removeListener(event, listener);
  return listener;
}

/** One connection's reader: admits checked requests to node:http one at a time, refuses the rest. */
export class NodeHttpGate {
  /** The admitted request node:http is handling (null between requests). */
  head: RequestHead | null = null;
  /** Its body, whole (null when it has none). */
  body: Buffer | null = null;
  /** When its last byte arrived (performance clock). */
  receivedAt = 0;
  readonly remoteAddress: string;
  private state = IDLE;
  private buffer: Buffer | null = null;
  private pending: RequestHead | null = null;
  private bodyParts: Buffer[] = [];
  private bodySize = 0;
  private decoder: ChunkedDecoder | null = null;
  /** Searches only the bytes of a partial head that are new (head-scan.ts). */
  private readonly headScan = new HeadScan();
  private peerEnded = false;
  private paused = false;
  private timer: NodeJS.Timeout | null = null;
  private response: ServerResponse | null = null;
  private readonly pushPart = (part: Buffer): void => {
    this.bodyParts.push(part);
    this.bodySize += part.length;
  };
  private readonly onFinish = (): void => this.responseDone();
  private waitingDrain = false;
  private readonly onDrain = (): void => {
    this.waitingDrain = false;
    this.resumeSocket();
    if (this.state === IDLE) this.readRequests();
  };

  constructor(
    private readonly socket: GatedSocket,
    private readonly host: GateHost,
    private readonly nodeOnData: Listener,
    private readonly nodeOnEnd: Listener,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('close', () => this.clearTimer());
    // A connection that sends nothing is closed after the header timeout, as the net engines do.
    this.arm(host.settings.headerTimeoutMs);
  }

  /** Close the connection if it is waiting for a request with nothing of one received. */
  closeIfIdle(): void {
    if (this.state === IDLE && (this.buffer === null || this.buffer.length === 0)) this.socket.destroy();
  }

  /** node:http made `res` for the admitted request: the next one is read when it has finished. */
  answering(res: ServerResponse): void {
    this.response = res;
    res.on('finish', this.onFinish); // once: a response finishes once, and is dropped after
  }

  private onData(chunk: Buffer): void {
    if (this.state === CLOSING) return; // lingering: read and drop
    const buffer = this.buffer;
    if (buffer === null || buffer.length === 0) this.buffer = chunk;
    else {
      this.buffer = Buffer.concat([buffer, chunk]);
      this.headScan.carry(buffer, this.buffer);
    }
    if (this.state === BUSY) {
      if (this.buffer.length > BACKLOG_LIMIT) this.pauseReading();
      return;
    }
    if (this.state === BODY) this.readBody();
    else this.readRequests();
  }

  private onEnd(): void {
    this.peerEnded = true;
    if (this.state === CLOSING) return void this.socket.destroy();
    if (this.state === BODY) return this.refuse(requestFailure('incomplete', 'Bad request: the connection ended in the middle of the request body.'), this.pending);
    if (this.state === IDLE) return this.readRequests();
    // BUSY: a client that closes while its request is answered has gone away (Nginx's 499).
    this.socket.destroy();
  }

  private responseDone(): void {
    const res = this.response;
    this.response = null;
    this.head = null;
    this.body = null;
    if (this.state !== BUSY) return;
    if ((res !== null && !res.shouldKeepAlive) || !this.socket.writable) {
      // node:http closes the connection after this response (Connection: close, HTTP/1.0, a
      // stream it could not frame for HTTP/1.0); nothing behind it is read.
      this.state = CLOSING;
      this.buffer = null;
      return;
    }
    this.state = IDLE;
    this.readRequests();
  }

  /** Admit the buffered requests one at a time (each waits for the response before it). */
  private readRequests(): void {
    while (this.state === IDLE) {
      const buffer = this.buffer;
      if (buffer === null || buffer.length === 0) {
        if (this.peerEnded) this.closeAfterEnd();
        return;
      }
      if (this.socket.writableNeedDrain || this.socket._paused === true) {
        // The client reads its responses slower than it pipelines requests: wait until it catches
        // up (node:http, which paused itself for the same reason, resumes first on 'drain').
        this.pauseReading();
        if (!this.waitingDrain) {
          this.waitingDrain = true;
          this.socket.once('drain', this.onDrain);
        }
        return;
      }
      if (this.paused) this.resumeSocket();
      if (!this.readHead(buffer)) {
        if (this.state === IDLE && this.timer === null) this.arm(this.host.settings.headerTimeoutMs);
        return;
      }
    }
  }

  /** As Http1Connection.readHead: one head from `buffer`; false when more bytes are needed or it was refused. */
  private readHead(buffer: Buffer): boolean {
    const settings = this.host.settings;
    const read = readRequestHead(buffer, this.headScan, settings, this.peerEnded);
    if (read.kind !== 'head') {
      if (read.kind === 'blank') {
        this.buffer = null; // only empty lines so far
        if (this.peerEnded) this.closeAfterEnd();
      } else if (read.kind === 'refused') this.refuseHead(read.failure, buffer, read.start);
      return false;
    }
    const { head: parsed, consumed } = read;
    if (parsed.contentLength > settings.maxBodySize) {
      this.refuse(requestFailure('body-too-large', `Payload too large: the body is ${parsed.contentLength} bytes, the limit is ${settings.maxBodySize}.`), parsed);
      return false;
    }
    this.clearTimer();
    if (parsed.contentLength <= 0 && !parsed.chunked) {
      this.buffer = consumed === buffer.length ? null : buffer.subarray(consumed);
      this.admit(parsed, null);
      return true;
    }
    if (parsed.contentLength > 0 && buffer.length - consumed >= parsed.contentLength) {
      const bodyEnd = consumed + parsed.contentLength;
      this.buffer = bodyEnd === buffer.length ? null : buffer.subarray(bodyEnd);
      this.admit(parsed, buffer.subarray(consumed, bodyEnd));
      return true;
    }
    this.state = BODY;
    this.pending = parsed;
    this.bodyParts = [];
    this.bodySize = 0;
    this.decoder = parsed.chunked ? new ChunkedDecoder(settings.maxBodySize) : null;
    this.buffer = consumed === buffer.length ? null : buffer.subarray(consumed);
    if (parsed.expectContinue && this.buffer === null) this.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
    this.arm(settings.bodyTimeoutMs);
    this.readBody();
    return this.state === IDLE;
  }

  /** Move buffered bytes into the pending request's body; admit it when it is complete. */
  private readBody(): void {
    const buffer = this.buffer;
    const head = this.pending!;
    if (buffer === null || buffer.length === 0) {
      if (this.peerEnded) this.refuse(requestFailure('incomplete', 'Bad request: the connection ended in the middle of the request body.'), head);
      return;
    }
    this.timer?.refresh();
    const read = readBodyPiece(buffer, head.contentLength, this.bodySize, this.decoder, this.pushPart);
    if (read.kind === 'refused') return this.refuse(read.failure, head);
    if (read.kind === 'more') {
      this.buffer = null;
      return;
    }
    this.buffer = read.rest;
    this.decoder = null;
    this.clearTimer();
    const parts = this.bodyParts;
    const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.bodySize);
    this.bodyParts = [];
    this.pending = null;
    this.state = IDLE;
    this.admit(head, body);
  }

  /** Hand a checked request to node:http (which calls the handler at once). */
  private admit(head: RequestHead, body: Buffer | null): void {
    this.state = BUSY;
    this.head = head;
    this.body = body;
    this.receivedAt = performance.now();
    try {
      this.nodeOnData(canonicalHead(head));
    } catch (error) {
      // A handler's bug must not take the process down with it (this runs in a socket event).
      this.host.onError?.(error, this.remoteAddress);
      this.socket.destroy();
    }
  }

  /** Refuse the head in `buffer` from `start` (logged with what arrived of its request line). */
  private refuseHead(failure: RequestFailure, buffer: Buffer, start: number): void {
    this.refuse(failure, null, partialRequestLine(buffer, start));
  }

  /** Answer `failure` and close (the rest of the connection cannot be trusted). As Http1Connection.refuse. */
  private refuse(failure: RequestFailure, head: RequestHead | null = null, requestLine = ''): void {
    if (this.state === CLOSING) return;
    const body = failure.reason + '\n';
    const noBody = head !== null && head.method === 'HEAD';
    const extra = this.host.onRefused(failure, head, this.remoteAddress, requestLine);
    this.socket.write(
      `HTTP/1.1 ${statusLine(failure.status)}\r\nContent-Type: ${TEXT_PLAIN}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${noBody ? '' : body}`,
      'latin1',
    );
    this.closeGracefully();
  }

  /** The client ended its side with nothing half-sent: node:http ends ours (its usual end of a connection). */
  private closeAfterEnd(): void {
    this.state = CLOSING;
    this.clearTimer();
    this.nodeOnEnd();
  }

  /** Half-close after a refusal; keep reading (and dropping) briefly so it is not lost to a reset. */
  private closeGracefully(): void {
    this.state = CLOSING;
    this.buffer = null;
    this.bodyParts = [];
    this.pending = null;
    this.clearTimer();
    this.timer = setTimeout(() => this.socket.destroy(), LINGER_MS);
    this.timer.unref();
    if (this.paused) this.resumeSocket();
    this.socket.end();
    if (this.peerEnded) this.socket.once('finish', () => this.socket.destroy());
  }

  /** The header or body timeout: `ms` from now (0: none). */
  private arm(ms: number): void {
    this.clearTimer();
    if (ms <= 0) return;
    this.timer = setTimeout(() => this.timedOut(), ms);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private timedOut(): void {
    this.timer = null;
    const settings = this.host.settings;
    if (this.state === IDLE) {
      if (this.buffer === null || this.buffer.length === 0) this.socket.destroy(); // nothing was asked
      else this.refuseHead(requestFailure('header-timeout', `Request timeout: the request head did not arrive within ${settings.headerTimeoutMs} ms.`), this.buffer, emptyLinesBefore(this.buffer));
    } else if (this.state === BODY) {
      this.refuse(requestFailure('body-timeout', `Request timeout: no body data for ${settings.bodyTimeoutMs} ms.`), this.pending);
    }
  }

  private pauseReading(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  private resumeSocket(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
  }
}
