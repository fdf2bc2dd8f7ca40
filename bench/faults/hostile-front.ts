/**
 * A normal client's latency on the front while resilience case 4's attack runs at the soak's size
 * (2,000 heads a byte a second, 500 bodies slower than the body timeout, 500 clients pipelining
 * eight 1 MB requests and never reading; timeouts 3 s). Starts `npm start`'s stack with the given
 * front engine, pings /api/ping/ every 20 ms for a second, opens the attack, pings 12 s more and
 * prints p50 / p90 / p99 / max of the pings under attack, in ms, as one JSON line.
 *
 *   node --import tsx bench/faults/hostile-front.ts net|http
 */
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cleanup, Stack } from '../../test/resilience/harness.ts';

const engine = process.argv[2] === 'http' ? 'http' : 'net';
const TIMEOUT_S = 3;
const cleanup = new Cleanup();
const timeouts = ['--header-timeout', `${TIMEOUT_S}s`, '--body-timeout', `${TIMEOUT_S}s`, '--send-timeout', `${TIMEOUT_S}s`, '--keep-alive-timeout', '30s'];
const stack = await Stack.start(cleanup.add, { engine: 'net', frontEngine: engine, workers: 2, args: timeouts });
const sockets: Socket[] = [];

async function openMany(count: number, onOpen: (s: Socket) => void): Promise<Socket[]> {
  const opened: Socket[] = [];
  for (let i = 0; i < count; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => new Promise<void>((resolve) => {
      const socket = connect(stack.port, '127.0.0.1');
      sockets.push(socket);
      socket.on('error', () => {});
      socket.once('connect', () => {
        opened.push(socket);
        onOpen(socket);
        resolve();
      });
    })));
  }
  return opened;
}

const latencies: number[] = [];
let running = true;
let failures = 0;
const pinger = (async () => {
  while (running) {
    const sent = performance.now();
    try {
      const res = await fetch(`${stack.base}/api/ping/`);
      await res.arrayBuffer();
      latencies.push(performance.now() - sent);
    } catch {
      failures++;
    }
    await sleep(20);
  }
})();
await sleep(1000);
const calm = latencies.length;

const head = 'GET /api/ping/ HTTP/1.1\r\nHost: hostile\r\nX-Slow: ' + 'a'.repeat(10_000);
const heads = await openMany(2000, (s) => s.write(head[0]!));
let sent = 1;
const headDripper = setInterval(() => {
  for (const s of heads) if (!s.destroyed) s.write(head[sent]!);
  sent++;
}, 1000);
const bodies = await openMany(500, (s) => s.write('POST /api/echo/ HTTP/1.1\r\nHost: hostile\r\nContent-Type: application/octet-stream\r\nContent-Length: 10000\r\n\r\nx'));
const bodyDripper = setInterval(() => {
  for (const s of bodies) if (!s.destroyed) s.write('x');
}, (TIMEOUT_S + 2) * 1000);
await openMany(500, (s) => {
  s.pause();
  s.write('GET /static/blob.bin HTTP/1.1\r\nHost: hostile\r\n\r\n'.repeat(8));
});
await sleep(12_000);
running = false;
await pinger;
clearInterval(headDripper);
clearInterval(bodyDripper);

const underAttack = latencies.slice(calm).sort((a, b) => a - b);
const q = (p: number): number => Math.round(underAttack[Math.min(underAttack.length - 1, Math.floor(p * underAttack.length))]! * 10) / 10;
console.log(JSON.stringify({ engine, pings: underAttack.length, failures, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: q(1) }));
for (const s of sockets) s.destroy();
await cleanup.run();
process.exit(0);
