/**
 * Ports for the configurations: chosen by the system (bind port 0, read it, release it), or taken
 * in order from --port-base after checking each is free, so a port in use is reported by the
 * bench with its number instead of surfacing as a server that never became ready.
 */
import { createServer } from 'node:net';

/** A port that is in use (or cannot be bound) when the bench needs it. */
export class PortInUseError extends Error {}

function bindOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const bound = (server.address() as { port: number }).port;
      server.close(() => resolve(bound));
    });
  });
}

/** Hands out ports for one bench run. */
export class PortAllocator {
  private next: number | undefined;

  constructor(base: number | undefined) {
    this.next = base;
  }

  /** A free loopback port; `purpose` names who needs it in the error message. */
  async take(purpose: string): Promise<number> {
    if (this.next === undefined) return bindOnce(0);
    const port = this.next++;
    try {
      return await bindOnce(port);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new PortInUseError(
        `port ${port} (for ${purpose}) is ${code === 'EADDRINUSE' ? 'already in use' : `not usable: ${(error as Error).message}`}; ` +
          'pick another --port-base or leave it out to let the system choose free ports',
      );
    }
  }
}
