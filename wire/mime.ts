/**
 * File extension → Content-Type, for static files (the front and the dev server).
 *
 * The table is mime-db's, through the `mime-types` package (1,239 extensions), with the front's
 * overrides on top so that it answers with the same bytes as Nginx's shipped `mime.types` where
 * the two disagree on something a browser loads (`.js` is `application/javascript`, not mime-db's
 * `text/javascript`; `.ico` is `image/x-icon`, which stack/nginx-config.ts writes too).
 *
 * Charset: none is added, for text types either. That is Nginx's default (`charset off`) and
 * what the reference stack sends (`text/css`, `text/html`); `mime-types`' contentType() would add
 * `; charset=utf-8`, which a file on disk does not promise.
 *
 * Why mime-types and not mrmime (both were installed to choose between): the lookup cost is the
 * same within noise (node 20, 15 common file names, 1 M lookups a round, 9 interleaved rounds, two
 * runs on a busy machine: medians mime-types 205 and 375 ns, mrmime 240 and 384 ns), and it runs
 * once per file the cache loads, not per request; mime-types knows 1,239 extensions against
 * mrmime's 438; and mrmime's table is a plain object, so `x.constructor` yields a function instead
 * of "unknown". Unknown extensions get
 * `application/octet-stream`, Nginx's `default_type`: a browser then downloads the file instead
 * of guessing (and sniffing) what it is.
 */
import mimeTypes from 'mime-types';

/** The Content-Type sent for files whose extension has no type. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** Where the front answers as Nginx's mime.types does rather than as mime-db does. */
const NGINX_OVERRIDES: ReadonlyMap<string, string> = new Map([
  ['js', 'application/javascript'],
  ['mjs', 'application/javascript'],
  ['cjs', 'application/javascript'],
  ['xml', 'text/xml'],
  ['ico', 'image/x-icon'],
  ['bmp', 'image/x-ms-bmp'],
  ['m4a', 'audio/x-m4a'],
  ['rar', 'application/x-rar-compressed'],
  ['exe', DEFAULT_CONTENT_TYPE],
  ['dll', DEFAULT_CONTENT_TYPE],
  ['iso', DEFAULT_CONTENT_TYPE],
]);

/** mime-db's types with the overrides applied; a Map, so no inherited key such as `constructor` matches. */
const TYPES: ReadonlyMap<string, string> = new Map([...Object.entries(mimeTypes.types), ...NGINX_OVERRIDES]);

/**
 * The Content-Type for a file path or name, chosen by its last extension (case-insensitive):
 * `contentTypeFor('/srv/static/app.CSS')` → `'text/css'`; no or unknown extension →
 * `application/octet-stream`. Only the final path segment is looked at, so a dot in a folder
 * name (`/a.b/README`) does not count.
 */
export function contentTypeFor(path: string): string {
  const dot = path.lastIndexOf('.');
  if (dot < 0 || dot < path.lastIndexOf('/') || dot === path.length - 1) return DEFAULT_CONTENT_TYPE;
  const ext = path.slice(dot + 1).toLowerCase();
  return TYPES.get(ext) ?? DEFAULT_CONTENT_TYPE;
}
