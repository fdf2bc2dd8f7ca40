/**
 * TLS session tickets that are renewed when used, as Nginx's are.
 *
 * Why: node:tls encrypts its session tickets with a callback that accepts a ticket without asking
 * OpenSSL to renew it. In TLS 1.3 a server sends new tickets after a resumed handshake only when
 * the ticket was renewed, and clients use a ticket once (RFC 8446 §C.4: clients SHOULD NOT reuse
 * a ticket). So a client that resumes gets no ticket back, and its next connection pays a full
 * handshake: against a bare node:tls server, wrk resumed 609 of 1,218 connections (every other
 * one), against Nginx 10,499 of 10,515. A full handshake costs the server a signature and its
 * certificate, and the client their verification; a browser with its two tickets from a full
 * handshake gets two resumptions and then a full handshake again.
 *
 * How: the secure context's ticket-key callback (the same AES-128-CBC + HMAC-SHA256 ticket format
 * node:tls uses) answers "valid, renew" for a ticket made with this context's keys, so OpenSSL
 * issues a fresh ticket on every resumed handshake. The keys are made for each secure context:
 * a SIGHUP that reloads the certificate also rotates them, as an Nginx reload does; tickets from
 * before then get a full handshake.
 *
 * The callback is node:tls's own, reached through the context object (`enableTicketKeyCallback`,
 * `onticketkeycallback`), not a documented API. Where a Node release lacks it, `renewSessionTickets`
 * returns false and tickets work as node:tls makes them (every other resumption), never worse.
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import type { Server } from 'node:tls';

/** The native secure context's ticket hook (node:tls internals, checked before use). */
interface NativeContext {
  enableTicketKeyCallback?: () => void;
  onticketkeycallback?: (name: Buffer, iv: Buffer, encrypt: boolean) => unknown[];
}

/** OpenSSL's answers from a ticket-key callback (SSL_CTX_set_tlsext_ticket_key_cb). */
const UNKNOWN_KEY = 0;
const ACCEPT = 1;
const ACCEPT_AND_RENEW = 2;

/**
 * Make `server`'s current secure context renew the session tickets it accepts. Call again after
 * every `setSecureContext` (the new context has its own keys). Returns false when this Node
 * offers no such hook (tickets then stay as node:tls makes them).
 */
export function renewSessionTickets(server: Server): boolean {
  const context = (server as unknown as { _sharedCreds?: { context?: NativeContext } })._sharedCreds?.context;
  if (context === undefined || typeof context.enableTicketKeyCallback !== 'function') return false;
  const name = randomBytes(16);
  const hmacKey = randomBytes(32);
  const aesKey = randomBytes(16);
  // node:tls copies what the callback returns before the next call, so the arrays are reused.
  const iv = Buffer.alloc(16);
  const forEncryption = [ACCEPT, hmacKey, aesKey, name, iv];
  const renew = [ACCEPT_AND_RENEW, hmacKey, aesKey];
  // A ticket from another context (before a reload, another process): a full handshake. node:tls
  // still initialises the cipher with what is returned, so the keys must be there.
  const unknown = [UNKNOWN_KEY, hmacKey, aesKey];
  context.onticketkeycallback = (ticketName: Buffer, _iv: Buffer, encrypt: boolean): unknown[] => {
    if (encrypt) {
      randomFillSync(iv);
      return forEncryption;
    }
    return ticketName.equals(name) ? renew : unknown;
  };
  context.enableTicketKeyCallback();
  return true;
}
