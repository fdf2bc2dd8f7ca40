/** Socket-level helpers for tests: free ports, raw HTTP exchanges, waiting for a server. */
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export { freePort } from '../../wire/free-port.ts';

/**
 * Send raw bytes and collect what comes back until the server closes the connection, `until`
 * matches what was received so far, or `timeoutMs` passes.
 */
export function rawExchange(
  port: number,
  data: string | Buffer,
  options: { until?: (received: string) => boolean; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(received);
    };
    const timer = setTimeout(done, options.timeoutMs ?? 3000);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (options.until?.(received)) done();
    });
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', (error) => {
      clearTimeout(timer);
      if (received) resolve(received);
      else reject(error);
    });
    socket.write(data);
  });
}

/** Poll `url` until it answers (any status) or `timeoutMs` passes. */
export async function waitForHttp(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      return;
    } catch (error) {
      last = error;
      await sleep(100);
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms: ${String(last)}`);
}
