/**
 * What every node:tls-based client side (node:https, or a hand-written HTTP/1.1 server on a
 * tls.Server) shares: the server options, and what happens to handshakes that fail.
 *
 * A handshake that never finishes is cut after the header timeout (the TLS handshake is part of
 * receiving the request head: the slowloris guard must cover it); plain HTTP sent to the TLS port
 * and clients that offer only TLS 1.0/1.1 fail the handshake. Each is logged in one line with the
 * client's address and the connection is closed; nothing else is disturbed. Plain HTTP first gets
 * a plain 400 that says what happened, as Nginx answers it (its 497, "The plain HTTP request was
 * sent to HTTPS port"): `curl http://host:443/` then shows the mistake instead of "Empty reply".
 */
import { Socket } from 'node:net';
import type { SecureContextOptions, Server, TlsOptions } from 'node:tls';
import { closingReply, TEXT_PLAIN } from '../../wire/plain-reply.ts';
import type { TlsCredentials } from './credentials.ts';
import { renewSessionTickets } from './session-tickets.ts';

const PLAIN_HTTP_REPLY = closingReply(400, TEXT_PLAIN, 'Bad request: plain HTTP was sent to the HTTPS port; use https:// for this address.\n');

/** node:tls server options for `credentials`, with the handshake bounded by `handshakeTimeoutMs`. */
export function tlsServerOptions(credentials: TlsCredentials, handshakeTimeoutMs: number): TlsOptions {
  return { ...credentials.options, handshakeTimeout: handshakeTimeoutMs };
}

/** A failed handshake's OpenSSL error, said the way an operator searches for it. */
export function handshakeFailure(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ERR_TLS_HANDSHAKE_TIMEOUT':
      return 'the TLS handshake did not finish in time';
    case 'ERR_SSL_HTTP_REQUEST':
      return 'plain HTTP was sent to the HTTPS port';
    case 'ERR_SSL_UNSUPPORTED_PROTOCOL':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION':
      return 'the client offers no TLS version the front accepts (TLS 1.2 or 1.3)';
    case 'ERR_SSL_NO_SHARED_CIPHER':
      return 'the client offers none of the front\'s ciphers';
    case 'ECONNRESET':
      return 'the client closed the connection during the handshake';
    default:
      return `TLS handshake failed: ${error.code ?? ''} ${error.message}`.trim();
  }
}

/**
 * Write the plain-HTTP 400 on the TCP connection under a TLS socket whose handshake found an HTTP
 * request. node:tls hands out no such connection: it is the TLS handle's `_parentWrap` (the
 * net.Socket node:tls wrapped), reached only where it is there and still open; elsewhere the
 * client gets the close alone, as before. The reply is small enough to leave in the write call
 * (a fresh connection's send buffer is empty), before node:tls closes the socket. The method was
 * read by OpenSSL, not by us, so a HEAD request gets the body too; it is followed by the close.
 */
function answerPlainHttp(socket: Socket): void {
  const raw = (socket as unknown as { _handle?: { _parentWrap?: unknown } | null })._handle?._parentWrap;
  if (!(raw instanceof Socket) || raw.destroyed || (raw as unknown as { _handle?: unknown })._handle == null) return;
  raw.on('error', () => {}); // a client already gone: nothing to tell it
  raw.write(PLAIN_HTTP_REPLY, 'latin1');
}

/** Log failed handshakes on `server` (node:tls already closes their sockets). */
export function watchHandshakes(server: Server, log: (line: string) => void): void {
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    log(`TLS: ${handshakeFailure(error)} — client ${socket.remoteAddress ?? '-'}`);
    if (error.code === 'ERR_SSL_HTTP_REQUEST') answerPlainHttp(socket);
    socket.destroy();
  });
}

/** Ready a front's node:tls server: failed handshakes logged, session tickets renewed when used. */
export function prepareTlsServer(server: Server, log: (line: string) => void): void {
  watchHandshakes(server, log);
  renewSessionTickets(server);
}

/** New certificate material for new handshakes (open connections keep theirs), with new ticket keys. */
export function replaceCredentials(server: Server, options: SecureContextOptions): void {
  server.setSecureContext(options);
  renewSessionTickets(server);
}
