/**
 * Reading an accepted plain-TCP connection into one buffer shared by every connection (node:net's
 * `onread` option), instead of through the Readable stream.
 *
 * Why: on the default path every read() allocates a fresh Buffer (a 64 KiB malloc shrunk to
 * fit, an ArrayBuffer, a backing-store sweep later) and goes through Readable's push, its
 * buffering and an 'data' emit. With `onread` the bytes land in one buffer and a single callback
 * sees them; the proxy's upstream side already reads this way (proxy/upstream/connection.ts).
 *
 * net.Server and tls.Server have no `onread` option for the sockets they accept, so
 * `useSharedReads` switches an accepted socket to the shared buffer with the same two steps the
 * `onread` option takes inside node:net's constructor: the socket's internal buffer fields, and
 * `useUserBuffer` on its handle (which every stream handle has, node:tls's too). Those fields are
 * found on a probe socket built with `onread`; where a Node release names them otherwise, the
 * socket keeps its 'data' events and nothing else changes. A plain-TCP server is created with
 * `pauseOnConnect`, so the switch comes before the first read. (Plain TCP first moved the handle
 * into a second net.Socket built with `onread`, the documented way; building that second socket
 * cost about 5 µs of every connection, a tenth of a short connection's CPU: bench/RESULTS.md.)
 * About 1 µs less CPU per request over TLS with keep-alive (bench/RESULTS.md).
 *
 * One more rule holds for TLS: node:tls decrypts further records from inside a write only when
 * the write is empty (TLSWrap::DoWrite drives the handshake that way), which would land a read
 * in the shared buffer while a callback still works on the last one; the wire layer never
 * writes an empty chunk (Http1Response skips them).
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

type Internal = net.Socket & { _handle?: object | null };

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
 * Switch a socket that reads through 'data' events (an accepted one, before or after its first
 * read; a node:tls server socket once established) to the shared buffer: from now on its reads
 * go to `onBytes` as views of it. Bytes it had already read and buffered are handed over first,
 * and it is resumed. Returns false (nothing changed: keep 'data' events, and resume a socket
 * accepted paused) where this Node's socket lacks the fields `onread` uses.
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
