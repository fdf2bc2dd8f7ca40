/**
 * Single requests outside the measured windows: readiness polls, logins, the one-request check
 * of each scenario before any load. A fresh connection each time, with a timeout, so a stuck
 * server turns into an error message rather than a hang.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** A response read in full. */
export interface ProbeResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Send one request and read the whole response (bodies over 64 KiB are counted, not kept). */
export function probe(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<ProbeResponse> {
  return new Promise((resolve, reject) => {
    // https: the bench's own throw-away certificate, so it is not verified.
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers, agent: false, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on('data', (chunk: Buffer) => {
        if (kept < 65536) chunks.push(chunk);
        kept += chunk.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(init.timeoutMs ?? 5000, () => req.destroy(new Error(`no answer within ${init.timeoutMs ?? 5000} ms`)));
    req.on('error', reject);
    req.end(init.body);
  });
}

/** A short description of why a probe failed, for messages ("connection refused", …). */
export function probeFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET') return 'connection reset';
  if (code === 'ENOTFOUND') return 'host not found';
  return error instanceof Error ? error.message : String(error);
}
