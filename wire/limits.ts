/**
 * Per-connection limits every engine enforces, with Gunicorn's and Nginx's defaults in mind.
 * The keep-alive idle timeout is deliberately longer than the front's upstream idle timeout
 * (proxy/ defaults to 4 s): if the app server closed an idle connection first, the front could
 * send a request on a socket that is being closed and answer the client 502. uWebSockets.js
 * fixes its own idle timeout at about 10 s, which is why the front's default sits below that.
 */
export interface Limits {
  /**
   * Largest request body in bytes (Nginx client_max_body_size). Default 1 MiB. A declared
   * Content-Length above it: 413 with a JSON `detail` before any byte is read, and the connection
   * closes; a chunked body that grows past it: 413 when the app reads past the limit.
   */
  maxBodySize: number;
  /**
   * Largest request head (request line + all header fields) in bytes. Default 16 KiB. Past it:
   * 431 with a JSON `detail`, connection closed.
   */
  maxHeaderSize: number;
  /**
   * Longest request target in bytes (Gunicorn limit_request_line). Default 8190. Past it: 414
   * with a JSON `detail`, connection closed.
   */
  maxRequestLine: number;
  /**
   * Most header fields in one request (Gunicorn limit_request_fields). Default 100. Past it: 431
   * with a JSON `detail`, connection closed. The uWS engine reads about 50 fields at most
   * whatever this says; the front refuses more than its own limit, set below that.
   */
  maxHeaderCount: number;
  /**
   * Milliseconds a client has to send the whole request head (the slowloris guard). Default
   * 30 s. Past it: 408 on node:http; the uWS engine closes the connection at its own 10 s.
   */
  headerTimeout: number;
  /**
   * Milliseconds a client has to send the whole request, body included. Default 5 min. Past it:
   * 408 and the connection closes (node:http; the uWS engine has no whole-request cap).
   */
  requestTimeout: number;
  /**
   * Milliseconds an idle keep-alive connection is kept open. Default 75 s. Past it the
   * connection is closed without a response (the client opens a new one); uWS closes at 10 s.
   */
  keepAliveTimeout: number;
  /**
   * Milliseconds a response may wait for a client that stopped reading (between two successful
   * writes, as Nginx's send_timeout). Default 60 s. Past it the connection is closed, and the
   * client sees a truncated response.
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
