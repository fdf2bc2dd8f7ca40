/**
 * The Range header, single byte ranges only (RFC 9110 §14.2).
 *
 * A multi-range request (`bytes=0-0,10-11`) is answered with the whole file, which the RFC allows
 * ("a server MAY ignore the Range header field"): multipart/byteranges costs code and buys nothing
 * a browser or download tool needs. Syntactically bad ranges are ignored the same way, while a
 * well-formed range that starts past the end is "unsatisfiable" → 416.
 */
import { isDecimal } from '../../wire/syntax.ts';

/** A satisfiable byte range, both ends inclusive, or why none applies. */
export type RangeOutcome =
  | { kind: 'range'; start: number; end: number }
  | { kind: 'unsatisfiable' }
  | { kind: 'ignore' };

const IGNORE: RangeOutcome = { kind: 'ignore' };
const UNSATISFIABLE: RangeOutcome = { kind: 'unsatisfiable' };

/** Interpret a Range header value against a representation of `size` bytes. */
export function parseRange(header: string, size: number): RangeOutcome {
  const eq = header.indexOf('=');
  if (eq === -1 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return IGNORE;
  const spec = header.slice(eq + 1).trim();
  if (spec.indexOf(',') !== -1) return IGNORE;
  const dash = spec.indexOf('-');
  if (dash === -1) return IGNORE;
  const first = spec.slice(0, dash).trim();
  const last = spec.slice(dash + 1).trim();
  if (first === '') {
    // Suffix range: the last N bytes.
    if (!isDecimal(last)) return IGNORE;
    const length = Number(last);
    if (length === 0 || size === 0) return UNSATISFIABLE;
    return { kind: 'range', start: Math.max(0, size - length), end: size - 1 };
  }
  if (!isDecimal(first) || (last !== '' && !isDecimal(last))) return IGNORE;
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return UNSATISFIABLE; // e.g. bytes=5-2, as Nginx
  if (start >= size) return UNSATISFIABLE;
  return { kind: 'range', start, end };
}
