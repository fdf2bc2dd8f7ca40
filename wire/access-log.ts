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

/*
 * The same line written straight into the log writer's buffer, byte by byte: the hot path.
 *
 * Why: formatAccessLine builds the line from some twenty string pieces (a tree of cons strings,
 * the numbers printed to strings, the request line joined to be tested by a regular expression),
 * and the writer then flattens and UTF-8 encodes it. Every request paid for those short-lived
 * strings twice, once to build them and once in the young-generation collections they brought
 * on. Here each field's characters go into the buffer directly, escaped on the way as quoted()
 * escapes them, numbers as digits: nothing is allocated per line. The text is the same, byte for
 * byte (test/access-log-bytes.test.ts compares the two): a field that would need UTF-8 (a
 * character >= 0x80 where nothing escapes it, or > 0xff anywhere) makes encodeAccessLine give up
 * (-1), and the line is written from formatAccessLine instead.
 */

const HEX = Buffer.from('0123456789abcdef', 'latin1');
const DASHES = Buffer.from(' - - ', 'latin1');
const HTTP = Buffer.from(' HTTP/', 'latin1');
const UPSTREAM = Buffer.from(' upstream=', 'latin1');
const UPSTREAM_TIME = Buffer.from(' upstream_time=', 'latin1');
const REQUEST_TIME = Buffer.from(' request_time=', 'latin1');
const REQUEST_ID = Buffer.from(' request_id=', 'latin1');
/** Room for everything but the fields' own characters (constants, numbers, quotes, newline). */
const FIXED_ROOM = 256;

let stampBytesSecond = -1;
const stampBytes = Buffer.alloc(28);

/**
 * Strings this long or longer are copied by one Buffer#write as latin1 (a call into C++, then
 * memcpy speed) once a regular expression has found them plain; shorter ones character by
 * character (a JavaScript loop costs about 2 ns a character here, the call and the test about
 * 35–70 ns).
 */
const BULK = 24;
// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/;
/** Nothing to escape, nothing above 0x7f: written as is, one byte a character. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** `s` as is (addresses, labels, ids); -1 if it holds a character that is not ASCII. */
function putPlain(out: Buffer, at: number, s: string): number {
  const n = s.length;
  if (n >= BULK) return ASCII.test(s) ? at + out.write(s, at, 'latin1') : -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return -1;
    out[at++] = c;
  }
  return at;
}

/** `s` escaped as escapeLogValue escapes it; -1 if it holds a character above 0xff. */
function putEscaped(out: Buffer, at: number, s: string): number {
  const n = s.length;
  if (n >= BULK && PLAIN.test(s)) return at + out.write(s, at, 'latin1');
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 34 && c !== 92) out[at++] = c;
    else if (c <= 0xff) {
      out[at++] = 92; // \
      out[at++] = 120; // x
      out[at++] = HEX[c >> 4]!;
      out[at++] = HEX[c & 15]!;
    } else return -1;
  }
  return at;
}

/** As quoted(): `"-"` for '', else the escaped value in quotes. */
function putQuoted(out: Buffer, at: number, s: string): number {
  out[at++] = 34;
  if (s.length === 0) out[at++] = 45;
  else if ((at = putEscaped(out, at, s)) < 0) return -1;
  out[at++] = 34;
  return at;
}

/** A whole number's decimal digits (as String(n)); -1 for anything else (left to the string path). */
function putWhole(out: Buffer, at: number, n: number): number {
  if (!(n >= 0 && n <= 0x7fffffff) || (n | 0) !== n) return n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n ? putLargeWhole(out, at, n) : -1;
  let digits = 1;
  for (let rest = n; rest >= 10; rest = (rest / 10) | 0) digits++;
  let rest = n;
  for (let i = at + digits - 1; i >= at; i--) {
    const next = (rest / 10) | 0;
    out[i] = 48 + rest - next * 10;
    rest = next;
  }
  return at + digits;
}

/** Beyond 31 bits (a body of 2 GiB and more): rare, through a string. */
function putLargeWhole(out: Buffer, at: number, n: number): number {
  return at + out.write(String(n), at, 'latin1');
}

/** As logSeconds(): `-` for none, else seconds with three decimals. */
function putSeconds(out: Buffer, at: number, ms: number): number {
  if (ms < 0) {
    out[at++] = 45;
    return at;
  }
  const whole = Math.round(ms);
  if (!(whole >= 0 && whole <= Number.MAX_SAFE_INTEGER)) return -1;
  const thousandths = whole % 1000;
  if (whole < 1000) out[at++] = 48;
  else at = putWhole(out, at, (whole - thousandths) / 1000);
  const tenths = (thousandths / 100) | 0;
  const hundredths = ((thousandths / 10) | 0) - tenths * 10;
  out[at++] = 46; // .
  out[at++] = 48 + tenths;
  out[at++] = 48 + hundredths;
  out[at++] = 48 + thousandths - ((thousandths / 10) | 0) * 10;
  return at;
}

/** The most bytes encodeAccessLine can write for `r` (escaping takes up to 4 bytes a character). */
export function accessLineRoom(r: AccessRecord): number {
  return FIXED_ROOM + r.client.length + (r.upstream?.length ?? 0) + (r.requestId?.length ?? 0)
    + 4 * (r.method.length + r.target.length + r.httpVersion.length + r.referer.length + r.userAgent.length);
}

/**
 * formatAccessLine's text for `r` at `now` (without the newline), written at `at` in `out`, which
 * has accessLineRoom(r) bytes free there. Returns the end, or -1 where the text would need UTF-8
 * (then what was written is garbage, and the caller writes formatAccessLine's line instead).
 */
export function encodeAccessLine(r: AccessRecord, now: number, out: Buffer, at: number): number {
  at = putPlain(out, at, r.client);
  if (at < 0) return -1;
  out.set(DASHES, at);
  at += DASHES.length;
  const stamp = timestamp(now);
  if (stamp.length !== stampBytes.length) return -1; // a year outside 1000–9999: the string path
  if (stampBytesSecond !== stampSecond) {
    stampBytes.write(stamp, 'latin1');
    stampBytesSecond = stampSecond;
  }
  out.set(stampBytes, at);
  at += stampBytes.length;
  out[at++] = 32;
  // The request line is escaped as one value; escaping goes character by character, so its
  // parts can be escaped one after the other.
  out[at++] = 34;
  if ((at = putEscaped(out, at, r.method)) < 0) return -1;
  out[at++] = 32;
  if ((at = putEscaped(out, at, r.target)) < 0) return -1;
  out.set(HTTP, at);
  at += HTTP.length;
  if ((at = putEscaped(out, at, r.httpVersion)) < 0) return -1;
  out[at++] = 34;
  out[at++] = 32;
  if ((at = putWhole(out, at, r.status)) < 0) return -1;
  out[at++] = 32;
  if ((at = putWhole(out, at, r.bytes)) < 0) return -1;
  out[at++] = 32;
  if ((at = putQuoted(out, at, r.referer)) < 0) return -1;
  out[at++] = 32;
  if ((at = putQuoted(out, at, r.userAgent)) < 0) return -1;
  if (r.upstream !== undefined) {
    out.set(UPSTREAM, at);
    at += UPSTREAM.length;
    if ((at = putPlain(out, at, r.upstream)) < 0) return -1;
    out.set(UPSTREAM_TIME, at);
    at += UPSTREAM_TIME.length;
    if ((at = putSeconds(out, at, r.upstreamMs ?? -1)) < 0) return -1;
  }
  out.set(REQUEST_TIME, at);
  at += REQUEST_TIME.length;
  if ((at = putSeconds(out, at, r.requestMs)) < 0) return -1;
  if (r.upstream !== undefined && r.requestId !== undefined) {
    out.set(REQUEST_ID, at);
    at += REQUEST_ID.length;
    if (r.requestId === '') out[at++] = 45;
    else if ((at = putPlain(out, at, r.requestId)) < 0) return -1;
  }
  return at;
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
    if (!this.enabled) return;
    const writer = this.#writer;
    const now = Date.now();
    const room = writer.room(accessLineRoom(record));
    if (room !== null) {
      const end = encodeAccessLine(record, now, room, writer.lineStart);
      if (end >= 0) return writer.commitLine(end);
    }
    writer.write(formatAccessLine(record, now));
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
