/**
 * Validators and conditional requests for static files (RFC 9110 §8.8 and §13).
 *
 * The ETag is strong and built from the file's modification time (in milliseconds, where Nginx
 * uses seconds) and size: it changes whenever the bytes can have changed, costs no hashing, and is
 * stable across restarts. A precompressed sibling gets its own ETag (its own mtime and size plus
 * the coding), because a strong validator names one exact representation.
 */

/** The strong ETag for a file with this mtime (ms) and size, optionally for an encoded variant. */
export function etagFor(mtimeMs: number, size: number, coding = ''): string {
  const tag = Math.floor(mtimeMs).toString(16) + '-' + size.toString(16);
  return coding === '' ? `"${tag}"` : `"${tag}-${coding}"`;
}

/** The Last-Modified value (an IMF-fixdate, whole seconds) for an mtime in milliseconds. */
export function httpDate(mtimeMs: number): string {
  return new Date(Math.floor(mtimeMs / 1000) * 1000).toUTCString();
}

/**
 * Does an If-None-Match header value match `etag`? `*` matches any existing file; otherwise the
 * header is a comma-separated list compared weakly (RFC 9110 §13.1.2: `W/"x"` matches `"x"`).
 */
export function noneMatchHits(header: string, etag: string): boolean {
  if (header === etag) return true;
  if (header.trim() === '*') return true;
  const opaque = etag.startsWith('W/') ? etag.slice(2) : etag;
  for (let start = 0; start < header.length; ) {
    let comma = header.indexOf(',', start);
    if (comma === -1) comma = header.length;
    let candidate = header.slice(start, comma).trim();
    if (candidate.startsWith('W/')) candidate = candidate.slice(2);
    if (candidate === opaque) return true;
    start = comma + 1;
  }
  return false;
}

/** Does an If-Match value match `etag`? `*`, or a list entry equal to it by strong comparison (RFC 9110 §8.8.3.2). */
export function matchHits(header: string, etag: string): boolean {
  if (header === etag) return !etag.startsWith('W/');
  if (header.trim() === '*') return true;
  if (etag.startsWith('W/')) return false;
  for (let start = 0; start < header.length; ) {
    let comma = header.indexOf(',', start);
    if (comma === -1) comma = header.length;
    if (header.slice(start, comma).trim() === etag) return true;
    start = comma + 1;
  }
  return false;
}

/**
 * Was the file modified after the If-Unmodified-Since date (so the precondition fails, 412)?
 * Unparseable dates are ignored, as RFC 9110 §13.1.4 asks (Nginx would answer 412).
 */
export function modifiedSince(header: string, mtimeMs: number): boolean {
  const since = Date.parse(header);
  if (Number.isNaN(since)) return false;
  return Math.floor(mtimeMs / 1000) * 1000 > since;
}

/**
 * Is the file unmodified since the If-Modified-Since date? Unparseable dates never match (the
 * request is then answered in full), as RFC 9110 §13.1.3 asks.
 */
export function notModifiedSince(header: string, mtimeMs: number): boolean {
  const since = Date.parse(header);
  if (Number.isNaN(since)) return false;
  return Math.floor(mtimeMs / 1000) * 1000 <= since;
}

/**
 * Should a Range request be honoured given its If-Range value? Only an exact strong ETag match, or
 * an HTTP date equal to Last-Modified, keeps the range (RFC 9110 §13.1.5); anything else means
 * "you have an old copy": send the whole file.
 */
export function ifRangeHolds(header: string, etag: string, lastModified: string): boolean {
  if (header.startsWith('"')) return header === etag;
  if (header.startsWith('W/')) return false;
  const date = Date.parse(header);
  return !Number.isNaN(date) && date === Date.parse(lastModified);
}
