/**
 * URL path → file path, without ever leaving the static root.
 *
 * The rules (those of the `send` package and of Nginx):
 *   1. percent-decode exactly ONCE (`%2e%2e` is `..`, `%2f` is `/`, but `%252e` stays the literal
 *      name `%2e`); malformed encodings → 400;
 *   2. refuse NUL and other control characters, and backslashes (a separator on Windows, and
 *      nobody's legitimate file name) → 400;
 *   3. remove dot segments like RFC 3986 §5.2.4 and merge `//`; a `..` that would climb above
 *      `/` → 400 (Nginx answers the same);
 *   4. refuse dotfiles (`.env`, `.git/…`) → 404, as `send` does by default;
 *   5. join under the root and check the result is still inside it (defence in depth);
 *   6. finally, on disk, `realpath` the file and check again, so a symlink inside the root that
 *      points outside it never serves a byte (→ 403, like Nginx's `disable_symlinks`).
 * Steps 1–5 are pure string work (`normalizeUrlPath`, `fileUnderRoot`, `resolveFilePath`);
 * step 6 touches the file system (`realFileWithinRoot`).
 */
import { realpath } from 'node:fs/promises';
import { sep } from 'node:path';

/** A refusal: the HTTP status to answer and a sentence saying what was wrong with the path. */
export interface PathRefusal {
  ok: false;
  status: 400 | 403 | 404;
  reason: string;
}

/** A URL path, decoded once and free of dot segments; ends with `/` when it names a folder. */
export type NormalizedPath = { ok: true; path: string } | PathRefusal;

/** An absolute file path inside the root; `directory` when the URL ended with `/`. */
export type ResolvedFile = { ok: true; file: string; directory: boolean } | PathRefusal;

function refuse(status: 400 | 403 | 404, reason: string): PathRefusal {
  return { ok: false, status, reason };
}

/**
 * Decode a raw request path (no query string, still percent-encoded, starting with `/`) once,
 * merge repeated slashes and resolve `.`/`..` segments. `/static/css/../app.css` →
 * `/static/app.css`; `/a/b/` keeps its trailing slash; `/../x` → 400 (above the root).
 */
export function normalizeUrlPath(rawPath: string): NormalizedPath {
  if (rawPath.charCodeAt(0) !== 47 /* / */) return refuse(400, 'Bad request: the path must start with "/".');
  // The common path needs nothing done: one pass tells (no percent-encoding, control character
  // or backslash, no segment that is empty or starts with a dot), where the steps below would
  // make four searches and a loop.
  let previous = 47;
  let i = 1;
  for (; i < rawPath.length; i++) {
    const c = rawPath.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 92 /* \ */ || c === 37 /* % */ || (previous === 47 && (c === 46 /* . */ || c === 47))) break;
    previous = c;
  }
  if (i === rawPath.length) return { ok: true, path: rawPath };
  let path = rawPath;
  if (rawPath.indexOf('%') !== -1) {
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      return refuse(400, 'Bad request: malformed percent-encoding in the path.');
    }
  }
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) {
      return refuse(400, c === 0 ? 'Bad request: NUL byte in the path.' : 'Bad request: control character in the path.');
    }
    if (c === 92 /* \ */) return refuse(400, 'Bad request: backslash in the path.');
  }
  // The common case (no dot segment can start, no empty segment) needs no splitting.
  if (path.indexOf('/.') === -1 && path.indexOf('//') === -1) return { ok: true, path };

  const segments = path.split('/');
  const kept: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (kept.length === 0) return refuse(400, 'Bad request: the path climbs above the root with "..".');
      kept.pop();
      continue;
    }
    kept.push(segment);
  }
  const last = segments[segments.length - 1];
  const folder = last === '' || last === '.' || last === '..';
  if (kept.length === 0) return { ok: true, path: '/' };
  return { ok: true, path: '/' + kept.join('/') + (folder ? '/' : '') };
}

/**
 * Place an already normalized sub-path (from `normalizeUrlPath`, starting with `/`) under `root`
 * (an absolute folder path, no trailing separator needed). Dotfile segments → 404 unless
 * `allowDotfiles`. The result is checked to lie inside the root.
 */
export function fileUnderRoot(root: string, normalizedPath: string, allowDotfiles = false): ResolvedFile {
  if (!allowDotfiles && normalizedPath.indexOf('/.') !== -1) return refuse(404, 'Not found.');
  const base = root.endsWith(sep) ? root.slice(0, -1) : root;
  const directory = normalizedPath.endsWith('/');
  const file = base + (directory ? normalizedPath.slice(0, -1) : normalizedPath);
  if (!isWithinRoot(base, file)) return refuse(400, 'Bad request: the path leaves the static root.');
  return { ok: true, file, directory };
}

/**
 * The one-call version for a mount: `rawSubPath` is the raw (still percent-encoded) rest of the
 * URL path after the mount prefix, e.g. `css/app.css` for `/static/css/app.css` under `/static/`.
 * Returns the file path under `root`, or a refusal (400 bad path, 404 dotfile). Pure: call
 * `realFileWithinRoot` before opening the file to rule out symlinks leading out of the root.
 */
export function resolveFilePath(root: string, rawSubPath: string, allowDotfiles = false): ResolvedFile {
  const normalized = normalizeUrlPath(rawSubPath.charCodeAt(0) === 47 ? rawSubPath : '/' + rawSubPath);
  if (!normalized.ok) return normalized;
  return fileUnderRoot(root, normalized.path, allowDotfiles);
}

/** True when `file` is `root` itself or lies below it (both absolute, same spelling of the root). */
export function isWithinRoot(root: string, file: string): boolean {
  const base = root.endsWith(sep) ? root.slice(0, -1) : root;
  return file === base || (file.startsWith(base) && file.charCodeAt(base.length) === sep.charCodeAt(0));
}

/**
 * Resolve symlinks in `file` and check the real path is still inside `realRoot` (which must
 * itself be a realpath, e.g. from `fs.realpathSync(root)` at start-up). Returns the real path,
 * 404 when the file does not exist, 403 when a symlink leads out of the root.
 */
export async function realFileWithinRoot(realRoot: string, file: string): Promise<ResolvedFile> {
  let real: string;
  try {
    real = await realpath(file);
  } catch {
    return refuse(404, 'Not found.');
  }
  if (!isWithinRoot(realRoot, real)) return refuse(403, 'Forbidden: a symlink leads out of the static root.');
  return { ok: true, file: real, directory: false };
}
