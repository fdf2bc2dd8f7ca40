/**
 * The access log line: Apache/Nginx "combined" format plus the request time in seconds, the
 * format Gunicorn's --access-logformat and Nginx's log_format usually end up as:
 *
 *   127.0.0.1 - - [29/Nov/2026:12:00:00 +0000] "GET /api/ping/ HTTP/1.1" 200 11 "-" "curl/8.5" 0.000213
 *
 * Everything that came from the client is escaped (quotes, backslashes, control bytes as \xHH,
 * as Nginx does), so a request cannot forge or split log lines.
 */
import type { AccessEntry } from './engines/host.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const UNSAFE = /["\\\x00-\x1f\x7f-\xff]/;
const UNSAFE_ALL = /["\\\x00-\x1f\x7f-\xff]/g;

function escapeChar(c: string): string {
  return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/** A client-supplied string made safe to put between quotes in a log line. */
export function escapeLogValue(value: string): string {
  return UNSAFE.test(value) ? value.replace(UNSAFE_ALL, escapeChar) : value;
}

let cachedSecond = -1;
let cachedStamp = '';

/** `[29/Nov/2026:12:00:00 +0000]`, rebuilt once per second. */
function timestamp(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    const d = new Date(second * 1000);
    const pad = (n: number) => String(n).padStart(2, '0');
    cachedStamp = `[${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000]`;
    cachedSecond = second;
  }
  return cachedStamp;
}

/** One access log line for a finished request (without the newline). */
export function formatAccessLine(entry: AccessEntry, now = Date.now()): string {
  const referer = entry.headers.get('referer');
  const agent = entry.headers.get('user-agent');
  const request = `${escapeLogValue(entry.method)} ${escapeLogValue(entry.target)} HTTP/${entry.httpVersion}`;
  return (
    `${entry.client.address || '-'} - - ${timestamp(now)} "${request}" ${entry.status} ${entry.bytes === 0 ? '-' : entry.bytes} ` +
    `"${referer === undefined ? '-' : escapeLogValue(referer)}" "${agent === undefined ? '-' : escapeLogValue(agent)}" ${(entry.durationMs / 1000).toFixed(6)}`
  );
}
