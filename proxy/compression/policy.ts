/**
 * When the front compresses a response, as Nginx's gzip module decides it (gzip, gzip_types,
 * gzip_min_length, gzip_comp_level, gzip_vary, gzip_disable's spirit), plus Brotli:
 *
 *   - only statuses with a representation worth it: 200, 403, 404 (Nginx's list); never 206
 *     (a byte range of a compressed body is meaningless), 204, 304, or a HEAD response;
 *   - only listed content types (parameters such as `; charset=utf-8` ignored);
 *   - only bodies of at least `minLength` bytes when the length is known (a streamed body of
 *     unknown length is compressed);
 *   - never when the upstream already set Content-Encoding (other than identity), or said
 *     `Cache-Control: no-transform` (RFC 9110 §7.7);
 *   - never for a request with a Range header (the upstream may answer 200 to it, but a client
 *     that asked for a range will not expect a different representation).
 * A response that qualifies gets `Vary: Accept-Encoding` whether or not this client accepted a
 * coding, so caches keep the variants apart.
 */
import { constants } from 'node:zlib';

/** Compression settings (`--compress`, `--compress-types`, `--compress-min-length`, levels). */
export interface CompressionSettings {
  enabled: boolean;
  /** Lower-case media types (`text/html`), or `type/*` wildcards. */
  types: readonly string[];
  /** Smallest body (bytes, when known) worth compressing. */
  minLength: number;
  /** zlib level 1–9 for gzip (Nginx gzip_comp_level). */
  gzipLevel: number;
  /** Brotli quality 0–11 for responses compressed on the fly. */
  brotliLevel: number;
}

/** Media types compressed by default: text, and the structured formats sent as text. */
export const DEFAULT_COMPRESS_TYPES: readonly string[] = [
  'text/html',
  'text/css',
  'text/plain',
  'text/xml',
  'text/javascript',
  'text/markdown',
  'text/csv',
  'application/javascript',
  'application/json',
  'application/problem+json',
  'application/ld+json',
  'application/manifest+json',
  'application/xml',
  'application/atom+xml',
  'application/rss+xml',
  'application/wasm',
  'image/svg+xml',
  'image/x-icon',
  'font/ttf',
  'font/otf',
];

export const DEFAULT_COMPRESSION: Readonly<CompressionSettings> = Object.freeze({
  enabled: true,
  types: DEFAULT_COMPRESS_TYPES,
  minLength: 1024,
  gzipLevel: 6,
  brotliLevel: 4,
});

/** A compiled type list: exact types in a Set, `type/*` prefixes in a list. */
export class CompressibleTypes {
  private readonly exact: Set<string>;
  private readonly prefixes: string[];
  private readonly memo = new Map<string, boolean>();

  constructor(types: readonly string[]) {
    this.exact = new Set(types.filter((t) => !t.endsWith('/*')));
    this.prefixes = types.filter((t) => t.endsWith('/*')).map((t) => t.slice(0, -1));
  }

  /** Is a body of `contentType` (a header value, parameters allowed) worth compressing? */
  has(contentType: string): boolean {
    let known = this.memo.get(contentType);
    if (known !== undefined) return known;
    const semi = contentType.indexOf(';');
    const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
    known = this.exact.has(type) || this.prefixes.some((p) => type.startsWith(p));
    if (this.memo.size > 256) this.memo.clear(); // bounded: upstream-chosen strings
    this.memo.set(contentType, known);
    return known;
  }
}

/** Statuses whose body may be compressed (Nginx: 200, 403, 404). */
export function compressibleStatus(status: number): boolean {
  return status === 200 || status === 403 || status === 404;
}

/** zlib options for a one-shot or streamed compressor of `coding` at the configured level. */
export function zlibOptions(coding: 'br' | 'gzip', settings: CompressionSettings, sizeHint: number): object {
  if (coding === 'gzip') return { level: settings.gzipLevel };
  const params: Record<number, number> = {
    [constants.BROTLI_PARAM_QUALITY]: settings.brotliLevel,
    [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
  };
  if (sizeHint > 0) params[constants.BROTLI_PARAM_SIZE_HINT] = sizeHint;
  return { params };
}
