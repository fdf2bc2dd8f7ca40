/**
 * Reading an accepted plain-TCP connection into one buffer shared by every connection (node:net's
 * `onread` option), instead of through the Readable stream.
 *
 * Why: on the default path every read() allocates a fresh Buffer (a 64 KiB malloc shrunk to
 * fit, an ArrayBuffer, a backing-store sweep later) and goes through Readable's push, its
 * buffering and an 'data' emit. With `onread` the bytes land in one buffer and a single callback
 * sees them; the proxy's upstream side already reads this way (proxy/upstream/connection.ts).
 *
 * net.Server has no `onread` option for accepted sockets, so the server is created with
 * `pauseOnConnect` (the accepted socket never starts reading) and the connection's handle is
 * moved into a new net.Socket built with `onread`, the documented constructor options `handle`
 * and `onread`. The server's connection count is kept right by giving the new socket the
 * server (its close decrements the count the accepted one incremented); the accepted socket is
 * dropped unused. When the handle cannot be taken (none there), the accepted socket is used as is.
 *
 * TLS connections (node:tls) read the same way: tls.Server takes no `onread` either, and its
 * sockets cannot be rebuilt on another handle (the handshake is theirs), so `useSharedReads`
 * switches an established TLS socket to the shared buffer with the same two steps the `onread`
 * option takes inside node:net (the socket's internal buffer fields, and `useUserBuffer` on its
 * handle, which node:tls's handle has as every stream handle does). Those fields are found on a
 * probe socket built with `onread`; where a Node release names them otherwise, the socket keeps
 * its 'data' events and nothing else changes. About 1 µs less CPU per request over TLS with
 * keep-alive (bench/RESULTS.md). One more rule holds for TLS: node:tls decrypts further records
 * from inside a write only when the write is empty (TLSWrap::DoWrite drives the handshake that
 * way), which would land a read in the shared buffer while a callback still works on the last
 * one; the wire layer never writes an empty chunk (Http1Response skips them).
 *
 * The contract for the reader: the bytes passed to `onBytes` are a view of the shared buffer and
 * are overwritten by the next read of ANY connection. Whatever is kept past the callback (a
 * partial head, pipelined bytes, a request body) must be copied: `isSharedReadView` tells.
 */
import net from 'node:net';

/** 64 KiB: as large as the default path's reads, so a read takes as much as before. */
const SHARED = Buffer.allocUnsafeSlow(64 * 1024);
/** Its memory, for the per-read view (Buffer.from on constants: no `buffer`/`byteOffset` getters per read). */
const SHARED_MEMORY = SHARED.buffer;
const SHARED_OFFSET = SHARED.byteOffset;

/** Is `bytes` a view of the shared read buffer (so it must be copied to be kept)? */
export function isSharedReadView(bytes: Buffer): boolean {
  return bytes.buffer === SHARED.buffer;
}

type Internal = net.Socket & { _handle?: object | null; _server?: net.Server | null; server?: net.Server | null };

/**
 * The socket to use for `accepted` (from a server made with `pauseOnConnect: true`): a new one
 * on the same handle whose reads go to `onBytes` (return false to stop reading until resume()),
 * or `accepted` itself (resumed, reads as 'data' events) when the handle cannot be moved; `shared`
 * says which.
 */
export function adoptWithSharedReads(
  accepted: net.Socket,
  server: net.Server,
  allowHalfOpen: boolean,
  onBytes: (bytes: Buffer) => boolean,
): { socket: net.Socket; shared: boolean } {
  const raw = accepted as Internal;
  const handle = raw._handle;
  if (handle === undefined || handle === null || raw.destroyed) {
    accepted.resume();
    return { socket: accepted, shared: false };
  }
  const socket = new net.Socket({
    handle,
    allowHalfOpen,
    readable: true,
    writable: true,
    onread: {
      buffer: SHARED,
      callback: (bytes: number): boolean => onBytes(Buffer.from(SHARED_MEMORY, SHARED_OFFSET, bytes)),
    },
  } as net.SocketConstructorOpts) as Internal;
  // The accepted socket no longer owns the handle: nothing it does may close it.
  raw._handle = null;
  socket._server = server;
  socket.server = server;
  return { socket, shared: true };
}

/** node:net's fields for `onread` (kBuffer, kBufferCb, kBufferGen), read off a probe socket once. */
const onreadFields = ((): { buffer: symbol; callback: symbol; generator: symbol } | null => {
  const probe = new net.Socket({ onread: { buffer: SHARED, callback: () => true } } as net.SocketConstructorOpts);
  const bySymbol = new Map(Object.getOwnPropertySymbols(probe).map((symbol) => [symbol.description, symbol]));
  probe.destroy();
  const buffer = bySymbol.get('kBuffer');
  const callback = bySymbol.get('kBufferCb');
  const generator = bySymbol.get('kBufferGen');
  if (buffer === undefined || callback === undefined || generator === undefined) return null;
  if ((probe as unknown as Record<symbol, unknown>)[buffer] !== SHARED) return null;
  return { buffer, callback, generator };
})();

type StreamHandle = { useUserBuffer?: (buffer: Uint8Array) => void };

/**
 * Switch an established socket that reads through 'data' events (a node:tls server socket) to
 * the shared buffer: from now on its reads go to `onBytes` as views of it. Bytes it had already
 * read and buffered are handed over first. Returns false (nothing changed: keep 'data' events)
 * where this Node's socket lacks the fields `onread` uses.
 */
export function useSharedReads(socket: net.Socket, onBytes: (bytes: Buffer) => boolean): boolean {
  const handle = (socket as Internal)._handle as StreamHandle | null | undefined;
  if (onreadFields === null || handle === null || handle === undefined || typeof handle.useUserBuffer !== 'function' || socket.destroyed) return false;
  const fields = socket as unknown as Record<symbol, unknown>;
  fields[onreadFields.buffer] = SHARED;
  fields[onreadFields.generator] = null;
  fields[onreadFields.callback] = (bytes: number): boolean => onBytes(Buffer.from(SHARED_MEMORY, SHARED_OFFSET, bytes));
  handle.useUserBuffer(SHARED);
  // Read before the switch (the request that came with the handshake's last flight): not lost.
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) onBytes(chunk);
  socket.resume();
  return true;
}
