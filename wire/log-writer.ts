/**
 * The one log writer: every access log and error log of every layer goes through it. Its rules,
 * in order of importance:
 *
 * 1. Logging never takes the server down. A write error (disk full, a closed pipe) is reported
 *    once on stderr and the lines are dropped until writing works again; nothing is thrown.
 * 2. Logging never blocks the event loop and never grows memory without bound. Files are written
 *    with asynchronous appends, one at a time; a destination that cannot keep up (a stalled
 *    stdout pipe, a slow disk) gets at most `maxPendingBytes` queued, and lines past that are
 *    dropped and counted. The count is reported (on stderr) when writing catches up, and at close.
 * 3. It is cheap: lines written in one event-loop turn leave in one write, so a busy process pays
 *    one write per turn for its access log, not one per request. Each line is encoded into a
 *    reused byte buffer as it is written: batches held as one growing string were a chain of
 *    thousands of cons strings that the young-generation GC copied and the append flattened
 *    (with the access log on, 4 % of the front's samples in string flattening and 4 % more in
 *    the scavenger; bench/RESULTS.md issue 13). A file is written at most every
 *    FILE_WRITE_INTERVAL_MS (sooner once 64 KiB wait): each asynchronous append is a round trip
 *    through libuv's threadpool, and at a few requests per turn every turn paid one (the front's
 *    CPU per proxied request with its access log on went from about +9 µs to about +7 µs over
 *    logging off when appends were spaced; measured on a busy machine, bench/RESULTS.md issue 13).
 *    Between two appends a file's lines stay in the encoding buffer (a full one is copied to the
 *    append queue): no callback and no copy per event-loop turn (a stream still gets each turn's
 *    lines at the end of the turn).
 * 4. A bad destination is refused when it is opened (start or reload) with a LogOpenError that
 *    names the path; a reload that fails keeps writing where it wrote before.
 *
 * Files are opened in append mode: several pool workers share one file and each write lands
 * whole at its end. `reopen()` (SIGUSR1 or SIGHUP) starts a fresh file after logrotate moved it.
 */
import cluster from 'node:cluster';
import { closeSync, openSync, write as writeFd, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Where a log goes: `-` for the process's own stream, `off` for nowhere, or a file path. */
export type LogTarget = string;

/** The log file could not be opened (a missing folder, no permission): nothing was changed. */
export class LogOpenError extends Error {
  override readonly name = 'LogOpenError';
  constructor(
    /** What the log is, e.g. `access log`. */
    readonly what: string,
    readonly path: string,
    /** The system's error code, e.g. `ENOENT`. */
    readonly code: string,
    cause: unknown,
  ) {
    super(`cannot open the ${what} ${path}: ${code === 'ENOENT' ? 'no such file or folder' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : (cause as Error).message} (${code})`, { cause });
  }
}

/** How a LogWriter behaves; every field has a default. */
export interface LogWriterOptions {
  /** What the log is, for messages: `access log`, `error log`. Default `log`. */
  what?: string;
  /**
   * Bytes queued for a destination that is not keeping up before lines are dropped (and
   * counted). Default 1 MiB: a few thousand lines, seconds of a busy server's access log.
   */
  maxPendingBytes?: number;
  /** Where trouble with the log itself is reported. Default: one line on stderr. */
  notice?: (message: string) => void;
}

/** A batch is handed to the destination once it is this large, without waiting for the turn to end. */
const BATCH_BYTES = 64 * 1024;
/** Lines wait at most this long before they are appended to a file (Nginx: `access_log … flush=`). */
const FILE_WRITE_INTERVAL_MS = 50;
const DEFAULT_MAX_PENDING = 1024 * 1024;

const defaultNotice = (message: string): void => {
  // The notice itself must not pile up behind a stalled stderr.
  if (process.stderr.writableLength < DEFAULT_MAX_PENDING) process.stderr.write(message + '\n');
};

/** Streams that already have our 'error' listener (process.stdout / stderr are shared). */
const guarded = new WeakSet<NodeJS.WritableStream>();
const streamFailures = new WeakMap<NodeJS.WritableStream, Error>();

function guard(stream: NodeJS.WriteStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  // Without a listener an EPIPE on stdout (the reader went away) is an uncaught exception.
  stream.on('error', (error: Error) => streamFailures.set(stream, error));
}

function countLines(bytes: Buffer): number {
  let n = 0;
  for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}

/** Writes to a pipe up to this size land whole, never interleaved with another process's (POSIX PIPE_BUF). */
const PIPE_BUF = 4096;

/**
 * Hand `bytes` (whole lines) to a shared stream. Several front processes (--processes) write
 * their access logs to the one stdout they inherited: a batch larger than PIPE_BUF could be
 * split by the kernel and another process's lines land inside one of ours. So in a process
 * that shares its stdout with siblings (a cluster worker) a batch goes in pieces of at most
 * PIPE_BUF bytes cut at line ends; a single line longer than that goes alone, whole.
 */
export function writeToStream(stream: NodeJS.WritableStream, bytes: Buffer, shared = cluster.isWorker): void {
  if (!shared || bytes.length <= PIPE_BUF) {
    stream.write(bytes);
    return;
  }
  let start = 0;
  while (start < bytes.length) {
    let end = start + PIPE_BUF >= bytes.length ? bytes.length : bytes.lastIndexOf(10, start + PIPE_BUF - 1) + 1;
    if (end <= start) end = bytes.indexOf(10, start) + 1 || bytes.length; // one line longer than PIPE_BUF
    stream.write(bytes.subarray(start, end));
    start = end;
  }
}

/** `parts` as one buffer (no copy for one part). */
function joined(parts: Buffer[], bytes: number): Buffer {
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes);
}

/** An access log or error log destination; see the file comment for its guarantees. */
export class LogWriter {
  readonly target: LogTarget;
  readonly enabled: boolean;
  readonly #stream: NodeJS.WriteStream;
  readonly #what: string;
  readonly #maxPending: number;
  readonly #notice: (message: string) => void;
  #fd = -1;
  /** File descriptors replaced by reopen(), closed once no write uses them. */
  #retired: number[] = [];
  /** This turn's lines, encoded: `#fill` bytes of `#buffer`, after the filled buffers in `#sealed`. */
  #buffer: Buffer | null = null;
  #fill = 0;
  #sealed: Buffer[] = [];
  #sealedBytes = 0;
  #scheduled = false;
  /** File mode: bytes handed over but not yet written (the write in flight first). */
  #queued: Buffer[] = [];
  #queuedBytes = 0;
  #writing = false;
  /** Lines dropped since writing last worked, and whether its error was reported. */
  #episode = 0;
  #errorSaid = false;
  #dropped = 0;
  #closed = false;
  #onIdle: (() => void) | null = null;
  /** File mode: when the last append started, and the timer of the next one. */
  #lastWriteAt = -Infinity;
  #writeTimer: NodeJS.Timeout | null = null;

  /**
   * @param target `-`, `off` or a file path (opened now: throws LogOpenError if it cannot be).
   * @param stream the stream `-` means (stdout for access logs, stderr for error logs).
   */
  constructor(target: LogTarget, stream: NodeJS.WriteStream, options: LogWriterOptions = {}) {
    this.target = target;
    this.enabled = target !== 'off';
    this.#stream = stream;
    this.#what = options.what ?? 'log';
    this.#maxPending = options.maxPendingBytes ?? DEFAULT_MAX_PENDING;
    this.#notice = options.notice ?? defaultNotice;
    if (target === '-') guard(stream);
    else if (this.enabled) this.#fd = this.#open();
  }

  /** Lines dropped so far because the destination was failing or not keeping up. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Queue one line (without its newline); it leaves at the end of this event-loop turn. */
  write(line: string): void {
    if (!this.enabled || this.#closed) return;
    const most = line.length * 3 + 1; // UTF-8 takes at most 3 bytes per UTF-16 unit
    if (most > BATCH_BYTES) {
      // The lines already in the encoding buffer go first: the batch keeps the order of writes.
      this.#sealFilled();
      this.#seal(Buffer.from(line + '\n'));
      this.#queuedLine();
      return;
    }
    const buffer = this.#room(most);
    const at = this.#fill + buffer.write(line, this.#fill, 'utf8');
    buffer[at] = 10;
    this.#fill = at + 1;
    this.#queuedLine();
  }

  /**
   * For a caller that encodes its line itself (the access log: no string per line): the buffer
   * to write at most `most` bytes into, from `lineStart` on, then `commitLine(end)`. Null when
   * nothing is written (off, closed) or the line may be too long: use write() then. The bytes
   * must be the line's UTF-8; nothing is kept unless commitLine is called.
   */
  room(most: number): Buffer | null {
    if (!this.enabled || this.#closed || most + 1 > BATCH_BYTES) return null;
    return this.#room(most + 1);
  }

  /** Where the line starts in the buffer room() returned. */
  get lineStart(): number {
    return this.#fill;
  }

  /** Queue the line written from lineStart up to `end` (its newline is added here). */
  commitLine(end: number): void {
    this.#buffer![end] = 10;
    this.#fill = end + 1;
    this.#queuedLine();
  }

  /** The encoding buffer with `most` bytes free at `#fill` (the filled part sealed first if needed). */
  #room(most: number): Buffer {
    let buffer = this.#buffer;
    if (buffer === null || this.#fill + most > buffer.length) {
      this.#sealFilled();
      buffer = this.#buffer ??= Buffer.allocUnsafe(BATCH_BYTES);
    }
    return buffer;
  }

  /** The lines encoded so far, copied out of the encoding buffer after those sealed before. */
  #sealFilled(): void {
    if (this.#fill > 0) this.#seal(Buffer.from(this.#buffer!.subarray(0, this.#fill)));
    this.#fill = 0;
  }

  /**
   * A line was queued: hand the batch over when it is large; else a stream gets it at the end of
   * this turn, and a file when its next append is due (the lines wait in the encoding buffer
   * until then, so a busy server pays nothing per turn: no callback, no copy).
   */
  #queuedLine(): void {
    if (this.#sealedBytes + this.#fill >= BATCH_BYTES) return this.#handOver();
    if (this.#scheduled) return;
    if (this.#fd >= 0) {
      if (this.#writing || this.#writeTimer !== null) return; // the append in flight, or the timer, takes them
      const wait = this.#untilNextWrite();
      if (wait > 0) return this.#writeIn(wait);
    }
    // A stream, or a file whose interval has passed: the lines of this turn leave together.
    this.#scheduled = true;
    setImmediate(this.#endOfTurn);
  }

  #seal(bytes: Buffer): void {
    this.#sealed.push(bytes);
    this.#sealedBytes += bytes.length;
  }

  /** This turn's lines as one buffer of their own (the encoding buffer is reused); null when none. */
  #takeBatch(): Buffer | null {
    this.#sealFilled();
    if (this.#sealedBytes === 0) return null;
    const batch = joined(this.#sealed, this.#sealedBytes);
    this.#sealed = [];
    this.#sealedBytes = 0;
    return batch;
  }

  readonly #endOfTurn = (): void => {
    this.#scheduled = false;
    this.#handOver();
  };

  /** Give the batch to the destination, or drop it if the destination is too far behind. */
  #handOver(): void {
    const batch = this.#takeBatch();
    if (batch === null) return;
    if (this.#fd < 0) {
      const stream = this.#stream;
      const failed = streamFailures.get(stream);
      if (failed !== undefined) return this.#drop(batch, failed.message);
      if (this.#overLimit(stream.writableLength, batch.length)) return this.#drop(batch, null);
      this.#recovered();
      writeToStream(stream, batch);
      return;
    }
    this.#queueBatch(batch);
    this.#scheduleWrite();
  }

  /** File mode: this turn's lines to the append queue, or dropped if the queue is too far behind. */
  #moveBatch(): void {
    const batch = this.#takeBatch();
    if (batch !== null) this.#queueBatch(batch);
  }

  #queueBatch(batch: Buffer): void {
    if (this.#overLimit(this.#queuedBytes, batch.length)) return this.#drop(batch, null);
    this.#queued.push(batch);
    this.#queuedBytes += batch.length;
  }

  /** File mode: start the next append now if the interval has passed (or much waits), else soon. */
  #scheduleWrite(): void {
    if (this.#writing || this.#writeTimer !== null) return;
    const wait = this.#untilNextWrite();
    if (wait <= 0 || this.#waiting >= BATCH_BYTES || this.#closed) return this.#writeNext();
    this.#writeIn(wait);
  }

  /** File mode: milliseconds until the next append is due (FILE_WRITE_INTERVAL_MS after the last). */
  #untilNextWrite(): number {
    return this.#lastWriteAt + FILE_WRITE_INTERVAL_MS - performance.now();
  }

  /** File mode: append in `wait` ms. flush() and close() write what waits; the timer keeps nothing alive. */
  #writeIn(wait: number): void {
    this.#writeTimer = setTimeout(this.#writeDue, wait);
    this.#writeTimer.unref();
  }

  readonly #writeDue = (): void => {
    this.#writeTimer = null;
    if (!this.#writing) this.#writeNext();
  };

  /** File mode: what waits to be appended, encoded lines not yet handed over included. */
  get #waiting(): number {
    return this.#queuedBytes + this.#sealedBytes + this.#fill;
  }

  /**
   * Whether a batch must be dropped: the queue would pass the bound, or, while dropping, has not
   * yet drained to half of it (so a destination hovering at the bound does not flap between
   * dropping and writing, with a notice each time).
   */
  #overLimit(waiting: number, adding: number): boolean {
    if (this.#episode > 0 && this.#errorSaid === false) return waiting > this.#maxPending / 2;
    return waiting + adding > this.#maxPending;
  }

  /** File mode: append what is queued, one write at a time. */
  #writeNext(): void {
    this.#moveBatch();
    if (this.#queuedBytes === 0) {
      this.#writing = false;
      this.#closeRetired();
      this.#onIdle?.();
      return;
    }
    const data = joined(this.#queued, this.#queuedBytes);
    this.#queued = [];
    this.#queuedBytes = 0;
    this.#writing = true;
    this.#lastWriteAt = performance.now();
    const fd = this.#fd;
    const done = (error: NodeJS.ErrnoException | null, written: number): void => {
      if (error !== null) this.#drop(data, `${error.code ?? ''} ${error.message}`.trim());
      else if (written < data.length) {
        // A short append (rare: a full disk or a signal): the rest goes first next time.
        const rest = data.subarray(written);
        this.#queued.unshift(rest);
        this.#queuedBytes += rest.length;
      } else this.#recovered();
      // Files reopen() replaced are used by no write from now on: close them now, not only when
      // the queue runs empty (under steady traffic it rarely does, and a rotated log's disk space
      // would stay held by the open descriptor).
      this.#closeRetired();
      const waiting = this.#waiting;
      if (waiting === 0 || this.#closed || waiting >= BATCH_BYTES) return this.#writeNext();
      this.#writing = false;
      this.#scheduleWrite();
    };
    writeFd(fd, data, 0, data.length, null, done);
  }

  /** Count dropped lines; the first drop of an episode (and its first error) is announced. */
  #drop(bytes: Buffer, error: string | null): void {
    const where = this.target === '-' ? (this.#stream === process.stdout ? 'stdout' : 'stderr') : this.target;
    if (error !== null && !this.#errorSaid) {
      this.#errorSaid = true;
      this.#notice(`${this.#what}: cannot write to ${where} (${error}); dropping lines until it works again`);
    } else if (this.#episode === 0 && error === null) {
      this.#notice(`${this.#what}: ${where} is not keeping up (over ${this.#maxPending} bytes waiting); dropping lines until it catches up`);
    }
    const lines = countLines(bytes);
    this.#episode += lines;
    this.#dropped += lines;
  }

  /** A write went through: close an episode of drops with its count. */
  #recovered(): void {
    if (this.#episode === 0 && !this.#errorSaid) return;
    this.#notice(`${this.#what}: writing again; ${this.#episode} line(s) were dropped`);
    this.#episode = 0;
    this.#errorSaid = false;
  }

  #open(): number {
    try {
      return openSync(this.target, 'a');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      throw new LogOpenError(this.#what, this.target, code, error);
    }
  }

  #closeRetired(): void {
    // Synchronous: it runs only after a reopen or at close, and close() must leave nothing open.
    for (const fd of this.#retired) {
      try {
        closeSync(fd);
      } catch {
        // already closed: nothing to release
      }
    }
    this.#retired = [];
  }

  /**
   * Write out everything now, synchronously (before the process exits). A failing destination
   * is reported and skipped, as in write().
   */
  flush(): void {
    if (!this.enabled) return;
    if (this.#writeTimer !== null) clearTimeout(this.#writeTimer);
    this.#writeTimer = null;
    const batch = this.#takeBatch();
    if (batch !== null) {
      this.#queued.push(batch);
      this.#queuedBytes += batch.length;
    }
    if (this.#queuedBytes === 0) return;
    const text = joined(this.#queued, this.#queuedBytes);
    this.#queued = [];
    this.#queuedBytes = 0;
    if (this.#fd < 0) {
      if (streamFailures.has(this.#stream)) return this.#drop(text, streamFailures.get(this.#stream)!.message);
      writeToStream(this.#stream, text);
      return;
    }
    try {
      writeSync(this.#fd, text);
    } catch (error) {
      this.#drop(text, `${(error as NodeJS.ErrnoException).code ?? ''} ${(error as Error).message}`.trim());
    }
  }

  /**
   * Start a fresh file at the same path (after logrotate moved the old one); a no-op for `-` and
   * `off`. Throws LogOpenError and keeps writing to the old file if the path cannot be opened.
   */
  reopen(): void {
    if (this.#fd < 0 || this.#closed) return;
    const fresh = this.#open();
    this.#retired.push(this.#fd);
    this.#fd = fresh;
    if (!this.#writing) this.#closeRetired();
  }

  /** Write what is queued and close the file; resolves once it is written. Later writes are ignored. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#handOver();
    this.#closed = true;
    if (this.#writeTimer !== null) clearTimeout(this.#writeTimer);
    this.#writeTimer = null;
    if (!this.#writing && this.#queuedBytes > 0) this.#writeNext();
    const finish = (): void => {
      if (this.#episode > 0) this.#notice(`${this.#what}: closed with ${this.#episode} line(s) dropped since writing last worked`);
      if (this.#fd >= 0) {
        this.#retired.push(this.#fd);
        this.#fd = -1;
        this.#closeRetired();
      }
    };
    if (!this.#writing) {
      finish();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#onIdle = () => {
        this.#onIdle = null;
        finish();
        resolve();
      };
    });
  }
}
