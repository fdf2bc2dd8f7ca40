/**
 * The access log, one format for every layer: Nginx's `combined` plus the request time, and for
 * the front the upstream's address and time:
 *
 *   127.0.0.1 - - [29/Nov/2026:12:00:00 +0000] "GET /api/ping/ HTTP/1.1" 200 11 "-" "curl/8.5" request_time=0.001
 *   … "curl/8.5" upstream=127.0.0.1:8001 upstream_time=0.002 request_time=0.003 request_id=0b6e…   (the front)
 *
 * upstream is `-` for what the front answered itself (static files, refusals); the request id
 * is the X-Request-Id the response and the upstream request carried; several upstreams are
 * comma-separated when the first refused the connection. Times are seconds with millisecond
 * precision, as Nginx writes $request_time. Everything that came from the client is escaped
 * (`"`, `\` and control bytes as \xHH, as Nginx does), so a request cannot forge or split lines.
 */
import { type LogTarget, LogWriter } from './log-writer.ts';

/** One finished request, as the access log needs it. */
export interface AccessRecord {
  /** The client's address, `-` when unknown. */
  client: string;
  method: string;
  target: string;
  httpVersion: string;
  status: number;
  /** Body bytes sent to the client. */
  bytes: number;
  /** The Referer and User-Agent fields, '' when absent. */
  referer: string;
  userAgent: string;
  /** Milliseconds from the request's arrival to its last byte handed to the socket. */
  requestMs: number;
  /** A proxy's upstream label(s), `-` when it answered itself; undefined for an app server. */
  upstream?: string;
  /** Milliseconds spent on the upstream, or -1 when none was involved. */
  upstreamMs?: number;
  /** The front's X-Request-Id for the exchange ('' when none was made: the request was never parsed). */
  requestId?: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function two(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

let stampSecond = -1;
let stampText = '';

/** `[10/Oct/2000:13:55:36 +0000]` (UTC), rebuilt at most once per second. */
function timestamp(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== stampSecond) {
    const d = new Date(second * 1000);
    stampSecond = second;
    stampText = `[${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000]`;
  }
  return stampText;
}

// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\x00-\x1f\x7f-\xff]/;
// eslint-disable-next-line no-control-regex
const TO_ESCAPE = /["\\\x00-\x1f\x7f-\xff]/g;

function escapeChar(c: string): string {
  return '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0');
}

/** A client-supplied value made safe to put between quotes in a log line. */
export function escapeLogValue(value: string): string {
  // Most values need no escape: one test instead of a replace on every line.
  return NEEDS_ESCAPE.test(value) ? value.replace(TO_ESCAPE, escapeChar) : value;
}

function quoted(value: string): string {
  if (value === '') return '"-"';
  return NEEDS_ESCAPE.test(value) ? '"' + value.replace(TO_ESCAPE, escapeChar) + '"' : '"' + value + '"';
}

/** Milliseconds as seconds with three decimals (`0.002`), as Nginx writes times; `-` for none. */
export function logSeconds(ms: number): string {
  if (ms < 0) return '-';
  const whole = Math.round(ms); // whole milliseconds, formatted without toFixed's cost
  const s = String(whole);
  if (whole < 10) return '0.00' + s;
  if (whole < 100) return '0.0' + s;
  if (whole < 1000) return '0.' + s;
  return s.slice(0, -3) + '.' + s.slice(-3);
}

/** One access log line (without the newline). */
export function formatAccessLine(r: AccessRecord, now?: number): string {
  const common = `${r.client} - - ${timestamp(now ?? Date.now())} ${quoted(`${r.method} ${r.target} HTTP/${r.httpVersion}`)} ${r.status} ${r.bytes} ${quoted(r.referer)} ${quoted(r.userAgent)}`;
  if (r.upstream === undefined) return `${common} request_time=${logSeconds(r.requestMs)}`;
  const id = r.requestId === undefined ? '' : r.requestId === '' ? ' request_id=-' : ` request_id=${r.requestId}`;
  return `${common} upstream=${r.upstream} upstream_time=${logSeconds(r.upstreamMs ?? -1)} request_time=${logSeconds(r.requestMs)}${id}`;
}

/** Where access log lines go (`off`, `-` for stdout, or a file), through the one LogWriter. */
export class AccessLog {
  readonly enabled: boolean;
  readonly #writer: LogWriter;

  /** Opens a file target now: throws LogOpenError if it cannot be opened. */
  constructor(readonly destination: LogTarget) {
    this.#writer = new LogWriter(destination, process.stdout, { what: 'access log' });
    this.enabled = this.#writer.enabled;
  }

  /** Lines dropped because the destination failed or could not keep up. */
  get dropped(): number {
    return this.#writer.dropped;
  }

  /** Record one request. */
  write(record: AccessRecord): void {
    if (this.enabled) this.#writer.write(formatAccessLine(record));
  }

  /** Write out what is queued, synchronously (before exiting). */
  flush(): void {
    this.#writer.flush();
  }

  /** Start a fresh file (log rotation); throws LogOpenError and keeps the old one on failure. */
  reopen(): void {
    this.#writer.reopen();
  }

  /** Write what is queued and close the file; resolves once it is written. */
  close(): Promise<void> {
    return this.#writer.close();
  }
}
