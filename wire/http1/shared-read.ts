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
