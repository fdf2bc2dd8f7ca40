/**
 * Static files in development, like Django's runserver with staticfiles: a middleware that
 * answers `/static/…` from the source folder, re-reading the disk on every request so edits show
 * at once. It uses the front's path rules (wire/static-path.ts), so traversal is refused
 * here exactly as in production. Production serves these files from the front instead, with
 * caching, ranges and precompressed variants.
 */
import { realpathSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { App, Middleware, Request } from '../../app/interface.ts';
import { file, json } from '../../app/response.ts';
import { contentTypeFor } from '../../wire/mime.ts';
import { realFileWithinRoot, resolveFilePath } from '../../wire/static-path.ts';

/** Serve files under `root` at URL `prefix` (which must end with '/'); other paths go to the app. */
export function devStatic(prefix: string, root: string): Middleware {
  if (!prefix.startsWith('/') || !prefix.endsWith('/')) throw new Error(`static prefix must start and end with "/": ${prefix}`);
  const realRoot = realpathSync(root);
  return (next: App): App =>
    (request: Request) => {
      const target = request.target;
      if (!target.startsWith(prefix)) return next(request);
      return serve(request, prefix, realRoot);
    };
}

async function serve(request: Request, prefix: string, realRoot: string) {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return json(405, { detail: `Method "${request.method}" not allowed.` }, { allow: 'GET, HEAD' });
  }
  const q = request.target.indexOf('?');
  const rawSub = request.target.slice(prefix.length - 1, q < 0 ? undefined : q);
  const resolved = resolveFilePath(realRoot, rawSub);
  if (!resolved.ok) return json(resolved.status, { detail: resolved.reason });
  const name = resolved.directory ? resolved.file + '/index.html' : resolved.file;
  const real = await realFileWithinRoot(realRoot, name);
  if (!real.ok) return json(real.status, { detail: real.reason });
  const info = await stat(real.file);
  if (!info.isFile()) return json(404, { detail: 'Not found.' });
  const lastModified = new Date(Math.floor(info.mtimeMs / 1000) * 1000).toUTCString();
  const since = request.headers.get('if-modified-since');
  if (since !== undefined && Date.parse(since) >= Math.floor(info.mtimeMs / 1000) * 1000) {
    return { status: 304, headers: { 'last-modified': lastModified } };
  }
  return {
    status: 200,
    headers: { 'content-type': contentTypeFor(real.file), 'last-modified': lastModified, 'cache-control': 'no-cache' },
    body: file(real.file, { length: info.size }),
  };
}
