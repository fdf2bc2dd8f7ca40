/**
 * The access log: Nginx's `combined` format plus the upstream's address and time and the request id.
 *
 *   127.0.0.1 - - [29/Nov/2026:12:00:00 +0000] "GET /api/ping/ HTTP/1.1" 200 11 "-" "curl/8.1"
 *     upstream=127.0.0.1:8001 upstream_time=0.002 request_time=0.003 request_id=0b6e…
 * (one line). The request id is the X-Request-Id the response and the upstream request carried. upstream is `-` for static files; several are comma-separated when the first
 * refused the connection. Times are seconds with millisecond precision, as Nginx writes them.
 * Lines are batched and written once per event-loop turn: one write per burst, not per request.
 */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';

/** One finished request, as the access log needs it. */
export interface AccessRecord {
  client: string;
  method: string;
  target: string;
  httpVersion: string;
  status: number;
  bytes: number;
  referer: string;
  userAgent: string;
  upstream: string;
  /** Milliseconds spent on the upstream, or -1 when none was involved. */
  upstreamMs: number;
  /** Milliseconds from the request's arrival to its last byte sent. */
  requestMs: number;
  /** The X-Request-Id of the exchange ('' when none was made: the request was never parsed). */
  requestId: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function two(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** `[10/Oct/2000:13:55:36 +0000]` (UTC), recomputed at most once per second. */
class LogClock {
  private second = -1;
  private text = '';
  now(): string {
    const ms = Date.now();
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      const d = new Date(ms);
      this.second = second;
      this.text = `[${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000]`;
    }
    return this.text;
  }
}

// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\x00-\x1f\x7f-\xff]/;
// eslint-disable-next-line no-control-regex
const TO_ESCAPE = /["\\\x00-\x1f\x7f-\xff]/g;

/** Quote a request-derived value the way Nginx escapes it: `"`, `\` and control bytes as \xHH. */
function quoted(value: string): string {
  if (value === '') return '"-"';
  // Most values need no escape: one test instead of a replace on every line.
  if (!NEEDS_ESCAPE.test(value)) return '"' + value + '"';
  return '"' + value.replace(TO_ESCAPE, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0')) + '"';
}

/** Milliseconds as seconds with three decimals (`0.002`), as Nginx writes times; `-` for none. */
function seconds(ms: number): string {
  if (ms < 0) return '-';
  const whole = Math.round(ms); // whole milliseconds, formatted without toFixed's cost
  const s = String(whole);
  if (whole < 10) return '0.00' + s;
  if (whole < 100) return '0.0' + s;
  if (whole < 1000) return '0.' + s;
  return s.slice(0, -3) + '.' + s.slice(-3);
}

/** Where access log lines go: `off`, `-` (stdout) or a file path (appended to). */
export class AccessLog {
  readonly enabled: boolean;
  private readonly out: Writable | null;
  private readonly clock = new LogClock();
  private batch = '';
  private scheduled = false;
  private readonly flushNow = () => this.flush();

  constructor(readonly destination: string) {
    this.enabled = destination !== 'off';
    this.out = !this.enabled ? null : destination === '-' ? process.stdout : createWriteStream(destination, { flags: 'a' });
  }

  /** Record one request. */
  write(r: AccessRecord): void {
    if (!this.enabled) return;
    this.batch += `${r.client} - - ${this.clock.now()} ${quoted(`${r.method} ${r.target} HTTP/${r.httpVersion}`)} ${r.status} ${r.bytes} ${quoted(r.referer)} ${quoted(r.userAgent)} upstream=${r.upstream} upstream_time=${seconds(r.upstreamMs)} request_time=${seconds(r.requestMs)} request_id=${r.requestId === '' ? '-' : r.requestId}\n`;
    if (this.batch.length > 64 * 1024) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
  }

  /** Write out what is batched. */
  flush(): void {
    this.scheduled = false;
    if (this.batch === '' || this.out === null) return;
    this.out.write(this.batch);
    this.batch = '';
  }

  /** Flush and close a log file (reload reopens it: log rotation); resolves once it is written. */
  close(): Promise<void> {
    this.flush();
    const out = this.out;
    if (out === null || out === process.stdout) return Promise.resolve();
    return new Promise((resolve) => out.end(resolve));
  }
}
