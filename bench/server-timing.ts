/**
 * The app's own time per request, as the servers report it in `Server-Timing: app;dur=<ms>`
 * (the front adds `upstream` and `proxy`): a short run of sequential requests on one keep-alive
 * connection, outside the measured windows, averaged per entry. It splits the workers' CPU into
 * the app's code and the server around it in the layer breakdown.
 */
import { Agent, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** Mean duration per Server-Timing entry, in microseconds, over the requests that carried it. */
export type TimingMeans = Record<string, number>;

/** Parse one Server-Timing value into name → duration (ms). */
export function parseServerTiming(value: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of value.split(',')) {
    const [name, ...params] = part.trim().split(';');
    const dur = params.map((p) => /^\s*dur=([\d.]+)\s*$/.exec(p)).find(Boolean);
    if (name && dur) out[name.trim()] = Number(dur[1]);
  }
  return out;
}

/** Send `count` requests one after another and average what Server-Timing says. */
export async function sampleServerTiming(url: string, headers: Record<string, string>, count: number): Promise<TimingMeans> {
  // https: the bench's own throw-away certificate (issue 13's TLS configurations), not verified.
  const tls = url.startsWith('https:');
  const agent = tls ? new HttpsAgent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false }) : new Agent({ keepAlive: true, maxSockets: 1 });
  const sums: Record<string, { total: number; n: number }> = {};
  try {
    for (let i = 0; i < count; i++) {
      const value = await new Promise<string>((resolve) => {
        const req = (tls ? httpsRequest : request)(url, { agent, headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(String(res.headers['server-timing'] ?? '')));
          res.on('error', () => resolve(''));
        });
        req.setTimeout(5000, () => req.destroy());
        req.on('error', () => resolve(''));
        req.end();
      });
      for (const [name, ms] of Object.entries(parseServerTiming(value))) {
        const s = (sums[name] ??= { total: 0, n: 0 });
        s.total += ms * 1000;
        s.n++;
      }
    }
  } finally {
    agent.destroy();
  }
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v.total / v.n]));
}
