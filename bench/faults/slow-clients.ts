/**
 * The slow-client attacker, run as its own process so its CPU is not the measuring client's:
 * `node --import tsx bench/faults/slow-clients.ts PORT CONNECTIONS INTERVAL_MS SECONDS`.
 * Half the connections send a request head one byte at a time, the other half send a complete
 * head announcing a 4 KB body and then the body one byte at a time (slowloris and slow POST).
 * Each connection is a client of its own, so they are not in step: the attack is taken already
 * under way, each connection's first request at a random point of its trickle (the bytes before
 * that point are sent at once on connect). In step, every slowloris head would complete in the
 * same millisecond every few seconds, and the scenario would measure a burst of a hundred
 * complete requests rather than slow clients. A client whose request is out reads its answer
 * (a slow client is not a vanishing one), then starts over on a fresh connection; a connection
 * the server closes is opened again. The pressure stays constant. Loopback only,
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

const counts = { opened: 0, closedByServer: 0, answered: 0, refused: 0, unanswered: 0, bytesSent: 0 };
/** How long a client whose request is out waits for its answer before giving up on it. */
const ANSWER_WAIT_MS = 5000;
let stopping = false;

/** One slow connection: `prefix` at once, then `slow` one byte per tick. */
interface Slow {
  socket: Socket;
  slow: string;
  at: number;
  /** The request is out; waiting for its answer. */
  sent: boolean;
  /** Start the bounded wait for the answer. */
  wait(): void;
}
const live = new Set<Slow>();

/** Open connection `index` (odd: slow body, even: slow head); `underWay`: start at a random point of the trickle. */
function open(index: number, underWay = false): void {
  if (stopping) return;
  const body = index % 2 === 1;
  const socket = connect({ port, host: '127.0.0.1' });
  counts.opened++;
  const slow = body ? 'x'.repeat(BODY_BYTES) : HEAD;
  const entry: Slow = { socket, slow, at: underWay ? Math.floor(Math.random() * slow.length) : 0, sent: false, wait: () => {} };
  let answered = false;
  const again = (): void => {
    // Once per connection: the answer came (or never will), so this client starts over.
    if (entry.sent && !answered) counts.unanswered++;
    entry.sent = false;
    answered = true;
    socket.removeAllListeners('close');
    socket.destroy();
    live.delete(entry);
    open(index);
  };
  socket.setNoDelay(true);
  socket.on('connect', () => {
    const already = (body ? POST_HEAD : '') + slow.slice(0, entry.at);
    if (already) socket.write(already);
    live.add(entry);
  });
  socket.on('data', (chunk: Buffer) => {
    if (answered) return;
    // A server that answers before the request is complete refused it (408, 400, 413…).
    if (!entry.sent || /^HTTP\/1\.1 [45]/.test(chunk.toString('latin1', 0, 12))) counts.refused++;
    else counts.answered++;
    answered = true;
    if (entry.sent) setImmediate(again);
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    live.delete(entry);
    if (stopping) return;
    if (entry.sent) return again();
    counts.closedByServer++;
    setTimeout(() => open(index), 50);
  });
  entry.wait = () => setTimeout(() => !answered && again(), ANSWER_WAIT_MS);
}

for (let i = 0; i < count; i++) open(i, true);

// One timer for every connection: each tick sends the next byte on each live connection.
const ticker = setInterval(() => {
  for (const entry of live) {
    entry.socket.write(entry.slow[entry.at++]!);
    counts.bytesSent++;
    if (entry.at >= entry.slow.length) {
      // The whole request is out: stop trickling and wait for its answer.
      live.delete(entry);
      entry.sent = true;
      entry.wait();
    }
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
