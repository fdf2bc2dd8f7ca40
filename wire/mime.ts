/**
 * File extension → Content-Type, for static files.
 *
 * The table follows Nginx's shipped `mime.types` (so the front answers with the same bytes as the
 * reference stack: `.css` → `text/css`, `.js` → `application/javascript`, no charset parameter),
 * plus a few modern types Nginx 1.22 lacks (`.mjs`, `.map`, `.webmanifest`, `.avif` …).
 * Unknown extensions get `application/octet-stream`, Nginx's `default_type` in its shipped config:
 * a browser then downloads the file instead of guessing (and sniffing) what it is.
 */

/** The Content-Type sent for files whose extension is not in the table. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

// A Map, not an object literal: `TYPES['constructor']` on a plain object would return a function.
const TYPES: ReadonlyMap<string, string> = new Map(Object.entries({
  html: 'text/html',
  htm: 'text/html',
  shtml: 'text/html',
  css: 'text/css',
  xml: 'text/xml',
  txt: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  mml: 'text/mathml',
  js: 'application/javascript',
  mjs: 'application/javascript',
  cjs: 'application/javascript',
  json: 'application/json',
  map: 'application/json',
  webmanifest: 'application/manifest+json',
  atom: 'application/atom+xml',
  rss: 'application/rss+xml',
  xhtml: 'application/xhtml+xml',
  wasm: 'application/wasm',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  '7z': 'application/x-7z-compressed',
  rar: 'application/x-rar-compressed',
  rtf: 'application/rtf',
  doc: 'application/msword',
  xls: 'application/vnd.ms-excel',
  ppt: 'application/vnd.ms-powerpoint',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text',
  ods: 'application/vnd.oasis.opendocument.spreadsheet',
  odp: 'application/vnd.oasis.opendocument.presentation',
  pem: 'application/x-x509-ca-cert',
  crt: 'application/x-x509-ca-cert',
  der: 'application/x-x509-ca-cert',
  bin: 'application/octet-stream',
  exe: 'application/octet-stream',
  dll: 'application/octet-stream',
  iso: 'application/octet-stream',
  img: 'application/octet-stream',
  png: 'image/png',
  gif: 'image/gif',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  avif: 'image/avif',
  svg: 'image/svg+xml',
  svgz: 'image/svg+xml',
  ico: 'image/x-icon',
  bmp: 'image/x-ms-bmp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  otf: 'font/otf',
  eot: 'application/vnd.ms-fontobject',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  m4a: 'audio/x-m4a',
  wav: 'audio/wav',
  flac: 'audio/flac',
  mid: 'audio/midi',
  midi: 'audio/midi',
  mp4: 'video/mp4',
  m4v: 'video/x-m4v',
  webm: 'video/webm',
  mov: 'video/quicktime',
  mpeg: 'video/mpeg',
  mpg: 'video/mpeg',
  avi: 'video/x-msvideo',
  ts: 'video/mp2t',
  m3u8: 'application/vnd.apple.mpegurl',
}));

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
