/**
 * Per-connection limits every engine enforces, with Gunicorn's and Nginx's defaults in mind.
 * The keep-alive idle timeout is deliberately longer than the front's upstream idle timeout
 * (proxy/ defaults to 4 s): if the app server closed an idle connection first, the front could
 * send a request on a socket that is being closed and answer the client 502. uWebSockets.js
 * fixes its own idle timeout at about 10 s, which is why the front's default sits below that.
 */
export interface Limits {
  /** Largest request body in bytes; past it the server answers 413 (Nginx client_max_body_size). */
  maxBodySize: number;
  /** Largest request head (request line + all header fields) in bytes; past it 431. */
  maxHeaderSize: number;
  /** Longest request line in bytes; past it 414 (Gunicorn limit_request_line). */
  maxRequestLine: number;
  /** Most header fields in one request; past it 431 (Gunicorn limit_request_fields). */
  maxHeaderCount: number;
  /** Milliseconds a client has to send the whole request head (slowloris guard); past it 408. */
  headerTimeout: number;
  /** Milliseconds a client has to send the whole request, body included; past it 408. */
  requestTimeout: number;
  /** Milliseconds an idle keep-alive connection is kept open. */
  keepAliveTimeout: number;
  /**
   * Milliseconds a response may wait for a client that stopped reading (between two successful
   * writes, as Nginx's send_timeout); past it the connection is closed, and the client sees a
   * truncated response.
   */
  sendTimeout: number;
}

/** The idle timeout uWebSockets.js applies by itself (compiled in; `keepAliveTimeout` cannot change it). */
export const UWS_IDLE_TIMEOUT_MS = 10_000;

/**
 * The shortest keep-alive idle timeout any of our engines uses by default: a front that reuses
 * upstream connections must give them up before this.
 */
export function shortestAppKeepAliveMs(limits: Pick<Limits, 'keepAliveTimeout'> = DEFAULT_LIMITS): number {
  return Math.min(limits.keepAliveTimeout, UWS_IDLE_TIMEOUT_MS);
}

/** Defaults: 1 MiB bodies, 16 KiB heads, 8 KiB request lines, 100 fields, 30 s / 5 min / 75 s / 60 s. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxBodySize: 1024 * 1024,
  maxHeaderSize: 16 * 1024,
  maxRequestLine: 8190,
  maxHeaderCount: 100,
  headerTimeout: 30_000,
  requestTimeout: 300_000,
  keepAliveTimeout: 75_000,
  sendTimeout: 60_000,
});
