/**
 * What a server built on wire/http1 is given and implements: its limits and timeouts, and the
 * handler that answers complete requests. This is the whole interface between the HTTP/1.1 wire
 * and what runs on it (the front's net engine; an app engine could be another).
 */
import type { Http1Connection } from './connection.ts';
import type { RequestFailure } from './failure.ts';
import type { RequestHead } from './request-head.ts';
import type { Http1Response } from './response.ts';

/** Limits and timeouts of the HTTP/1.1 server (each documents what the client sees when it trips). */
export interface Http1Settings {
  /** Largest request head in bytes (request line and fields) → 431. */
  maxHeaderSize: number;
  /** Longest request line in bytes → 414. */
  maxRequestLine: number;
  /** Most header fields → 431. */
  maxHeaderFields: number;
  /** Largest request body in bytes → 413 (before the body is read when the length is declared). */
  maxBodySize: number;
  /** Milliseconds to receive a whole request head, from its first byte (or the connection's start) → 408. */
  headerTimeoutMs: number;
  /** Milliseconds between two reads of a request body → 408 (a slow but steady upload is never cut). */
  bodyTimeoutMs: number;
  /** Milliseconds an idle keep-alive connection is kept → closed without a word. */
  keepAliveTimeoutMs: number;
  /** Milliseconds a response may wait for the client to read → connection cut. */
  sendTimeoutMs: number;
}

/** What a server built on wire/http1 implements. */
export interface Http1Handler {
  /**
   * A complete request, body buffered (`body` null when there is none). Answer through `res`,
   * now or later, exactly once; no other request of this connection is read until then.
   */
  onRequest(head: RequestHead, body: Buffer | null, res: Http1Response): void;
  /**
   * A request is refused before a handler saw it (for logs); returns extra header lines for the
   * refusal (`Name: value\r\n`…, or ''), such as a request id. `head` is null when the head
   * itself was refused; `requestLine` is then what arrived of its first line (latin1, at most
   * 2 KiB; '' if nothing did).
   */
  onRefused(failure: RequestFailure, head: RequestHead | null, connection: Http1Connection, requestLine: string): string;
  /** `onRequest` threw (a bug): the client got a 500 or a cut connection. For the error log. */
  onError?(error: unknown, connection: Http1Connection): void;
}

/** What the connection needs from its server. */
export interface Http1Host {
  readonly settings: Http1Settings;
  readonly handler: Http1Handler;
  /** Set during graceful shutdown: every response closes its connection. */
  readonly draining: boolean;
  forget(connection: Http1Connection): void;
  /**
   * `connection` just sent a response of `bytes` body bytes synchronously and has pipelined
   * requests waiting: call its `resumeTurn()` in a later event-loop turn, within the server's
   * per-turn output budget.
   */
  later(connection: Http1Connection, bytes: number): void;
}

