/** The error log's line format, Gunicorn's: `[2026-11-29 12:00:00 +0000] [pid] [LEVEL] message`. */

/** One error-log line for this process (without the newline). */
export function errorLine(level: string, message: string): string {
  const stamp = new Date().toISOString().replace('T', ' ').slice(0, 19);
  return `[${stamp} +0000] [${process.pid}] [${level}] ${message}`;
}
