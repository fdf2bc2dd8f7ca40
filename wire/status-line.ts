/**
 * Status lines (`404 Not Found`, without the `HTTP/1.1 ` uWebSockets.js adds itself), built once
 * for every code Node knows: a response pays an array read, not a concatenation. This sits on
 * the hot path of both uWS engines (the front's and the app server's).
 */
import { STATUS_CODES } from 'node:http';

const LINES: string[] = [];
for (const code in STATUS_CODES) LINES[Number(code)] = `${code} ${STATUS_CODES[code]}`;

/** Statuses that never carry a body, whatever the handler passes (RFC 9110 §6.4.1, §15.3.5, §15.4.5). */
export function bodyless(status: number): boolean {
  return status === 204 || status === 304 || status < 200;
}

/** The standard reason phrase for `status`, or `Unknown` for a code Node does not name. */
export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Unknown';
}

/**
 * `status` with its reason phrase: the standard one unless `reason` is given and differs (an
 * upstream's own phrase is passed on as it sent it). Unknown codes get `Unknown`, as node:http
 * writes them, rather than an empty phrase.
 */
export function statusLine(status: number, reason = ''): string {
  if (reason === '' || reason === STATUS_CODES[status]) return LINES[status] ?? `${status} Unknown`;
  return `${status} ${reason}`;
}
