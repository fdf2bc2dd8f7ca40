/**
 * The slow-client attacker, run as its own process so its CPU is not the measuring client's:
 * `node --import tsx bench/faults/slow-clients.ts PORT CONNECTIONS INTERVAL_MS SECONDS`.
 * Half the connections send a request head one byte at a time, the other half send a complete
 * head announcing a 4 KB body and then the body one byte at a time (slowloris and slow POST). A
 * connection the server closes is opened again, so the pressure stays constant. Loopback only,
 * at most MAX_CONNECTIONS connections and MAX_SECONDS seconds: the process ends itself after
 * that even if nobody stops it. It prints one JSON line of counts when it ends.
 */
import { connect, type Socket } from 'node:net';

const MAX_CONNECTIONS = 1000;
const MAX_SECONDS = 120;

const [portArg, countArg, intervalArg, secondsArg] = process.argv.slice(2);
const port = Number(portArg);
const count = Math.min(Number(countArg), MAX_CONNECTIONS);
const intervalMs = Math.max(1, Number(intervalArg));
const seconds = Math.min(Number(secondsArg), MAX_SECONDS);
if (!(port > 0 && port < 65536 && count > 0 && seconds > 0)) {
  process.stderr.write('usage: slow-clients.ts PORT CONNECTIONS INTERVAL_MS SECONDS\n');
  process.exit(2);
}

const BODY_BYTES = 4096;
const HEAD = 'GET /api/ping/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow-client\r\nX-Padding: ' + 'a'.repeat(200) + '\r\n\r\n';
const POST_HEAD = `POST /api/echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: ${BODY_BYTES}\r\n\r\n`;

const counts = { opened: 0, closedByServer: 0, answered: 0, refused: 0, bytesSent: 0 };
let stopping = false;

/** One slow connection: `prefix` at once, then `slow` one byte per tick. */
interface Slow {
  socket: Socket;
  slow: string;
  at: number;
}
const live = new Set<Slow>();

function open(index: number): void {
  if (stopping) return;
  const body = index % 2 === 1;
  const socket = connect({ port, host: '127.0.0.1' });
  counts.opened++;
  const entry: Slow = { socket, slow: body ? 'x'.repeat(BODY_BYTES) : HEAD, at: 0 };
  socket.setNoDelay(true);
  socket.on('connect', () => {
    if (body) socket.write(POST_HEAD);
    live.add(entry);
  });
  socket.on('data', (chunk: Buffer) => {
    // A server that answers before the request is complete refused it (408, 400, 413…).
    if (/^HTTP\/1\.1 [45]/.test(chunk.toString('latin1', 0, 12))) counts.refused++;
    else counts.answered++;
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    live.delete(entry);
    if (stopping) return;
    counts.closedByServer++;
    setTimeout(() => open(index), 50);
  });
}

for (let i = 0; i < count; i++) open(i);

// One timer for every connection: each tick sends the next byte on each live connection.
const ticker = setInterval(() => {
  for (const entry of live) {
    if (entry.at >= entry.slow.length) {
      // The whole request went out: start over on a fresh connection, as a patient attacker would.
      live.delete(entry);
      entry.socket.removeAllListeners('close');
      entry.socket.destroy();
      open(counts.opened);
      continue;
    }
    entry.socket.write(entry.slow[entry.at++]!);
    counts.bytesSent++;
  }
}, intervalMs);

function stop(): void {
  if (stopping) return;
  stopping = true;
  clearInterval(ticker);
  for (const entry of live) entry.socket.destroy();
  process.stdout.write(`SLOWJSON ${JSON.stringify(counts)}\n`);
  process.exit(0);
}
setTimeout(stop, seconds * 1000);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
