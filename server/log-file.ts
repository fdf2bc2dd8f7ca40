/**
 * A log destination a long-running process can write to cheaply and reopen on SIGUSR1 (after
 * logrotate has moved the file). Lines written in one event-loop turn leave in one write, so a
 * busy worker pays one syscall per turn for its access log, not one per request. Files are opened
 * in append mode: several workers share one file and each write lands whole at its end.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

/** Where a log goes: '-' for the process's stdout/stderr, otherwise a file path. */
export class LogFile {
  readonly target: string;
  readonly #stream: NodeJS.WriteStream;
  #fd = -1;
  #pending = '';
  #scheduled = false;

  /**
   * @param target '-' or a file path.
   * @param stream the standard stream '-' means (stdout for access logs, stderr for errors).
   */
  constructor(target: string, stream: NodeJS.WriteStream) {
    this.target = target;
    this.#stream = stream;
    this.reopen();
  }

  /** Queue one line; it is written at the end of this event-loop turn (or now, if much is queued). */
  write(line: string): void {
    this.#pending += line + '\n';
    if (this.#pending.length > 64 * 1024) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushSoon);
    }
  }

  readonly #flushSoon = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  /** Write out everything queued. Call before exiting. */
  flush(): void {
    const data = this.#pending;
    if (data === '') return;
    this.#pending = '';
    if (this.#fd < 0) this.#stream.write(data);
    else writeSync(this.#fd, data);
  }

  /** Close and reopen the file (a no-op for '-'), so a rotated log starts afresh. */
  reopen(): void {
    this.flush();
    if (this.target === '-') return;
    const old = this.#fd;
    this.#fd = openSync(this.target, 'a');
    if (old >= 0) closeSync(old);
  }
}
