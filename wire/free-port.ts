/**
 * A TCP port the kernel reports free right now: bind port 0, read the port, release it. Another
 * process can take it before it is bound again, so a layer that must own its private port binds
 * it exclusively and treats "address in use" as a fresh try, not as success.
 */
import { createServer } from 'node:net';

/** A port on `host` (loopback by default) that was free a moment ago. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
