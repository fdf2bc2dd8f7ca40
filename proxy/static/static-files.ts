/**
 * The static file server: URL prefix → folder mappings, answered from the FileCache.
 *
 * It decides WHAT to send and leaves HOW to the client-side engine: `respond()` returns a
 * StaticReply (status, headers, bytes or a file range to stream), which the node:http and the
 * uWebSockets.js engines each write in their own way. The reply for a cached file reuses header
 * lists computed once per file, so the hot path is a Map lookup, five header reads and a write.
 */
import { realpathSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { resolve } from 'node:path';
import { compressWhole } from '../compression/compressing-sink.ts';
import type { Compression } from '../compression/compressing-sink.ts';
import { chooseCoding } from './encoding.ts';
import { FileCache, probe } from './file-cache.ts';
import type { FileEntry, Representation } from './file-cache.ts';
import { parseRange } from './range.ts';
import { plainBody, TEXT_PLAIN } from '../../wire/plain-reply.ts';
import { fileUnderRoot } from '../../wire/static-path.ts';
import { statusLine } from '../../wire/status-line.ts';
import { PreparedResponse } from '../../wire/http1/prepared-response.ts';
import { headerValue } from '../../wire/http1/request-head.ts';
import { ifRangeHolds, matchHits, modifiedSince, noneMatchHits, notModifiedSince } from './validators.ts';

/** One `--static /prefix/=./folder` mapping. */
export interface StaticMount {
  /** URL prefix, starting and ending with `/`, e.g. `/static/`. */
  prefix: string;
  /** Folder the prefix maps to (relative paths resolve against the working directory). */
  root: string;
  /** Cache-Control sent with every file of this mount, or null for none (Nginx's default). */
  cacheControl: string | null;
  /** File served for a folder URL ending in `/`, or null; folders are never listed. */
  index: string | null;
  /** Serve `file.br` / `file.gz` siblings to clients that accept them. */
  precompressed: boolean;
}

/** What to answer for a static request; engines turn it into bytes on the wire. */
export interface StaticReply {
  status: number;
  /** Status line text for engines that take it whole, e.g. `206 Partial Content`. */
  statusLine: string;
  /** Response headers as a flat name, value list, without Content-Length (engines add it). */
  headers: readonly string[];
  /** The bytes to send (already cut to the range), or null to stream `file`. */
  body: Buffer | null;
  /** For streamed files: the real path and the inclusive byte range to send. */
  file: string | null;
  start: number;
  end: number;
  /** Content-Length to announce (also for HEAD), or -1 for 304 (no body, no length). */
  length: number;
  /** HEAD: announce the length, send no body. */
  head: boolean;
  /**
   * The same 200 serialized once (a cached file's full answer), for engines that can send it
   * as bytes; null for every other reply. Engines that use it add only their own fields.
   */
  prepared: PreparedResponse | null;
}

/** Reads one request header by lower-case name; '' when absent. */
export type HeaderReader = (lowerCaseName: string) => string;

/** The reader for a request that sent none of the fields a static answer reads. */
const NO_FIELDS: HeaderReader = () => '';

/**
 * A HeaderReader over a flat name, value list. When the list holds none of the fields a static
 * answer reads (Accept-Encoding, If-Match, If-None-Match, If-Modified-Since,
 * If-Unmodified-Since, Range, If-Range) — told by each name's length and first letter, in one
 * pass — it is one that answers '' at once, instead of the five to seven scans of the list the
 * answer would make.
 */
export function fieldReader(headers: readonly string[]): HeaderReader {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const n = name.length;
    if (n === 5 || n === 8 || n === 13 || n === 15 || n === 17 || n === 19) {
      const c = name.charCodeAt(0) | 0x20;
      if (c === 0x69 /* i */ || c === 0x72 /* r */ || c === 0x61 /* a */) return (lowerCaseName) => headerValue(headers, lowerCaseName);
    }
  }
  return NO_FIELDS;
}

interface MountState extends StaticMount {
  realRoot: string;
}

/** A small plain-text reply (errors, redirects, refusals); `extra` adds headers. */
export function textReply(status: number, message: string, extra: readonly string[] = []): StaticReply {
  const body = plainBody(message);
  return { status, statusLine: statusLine(status), headers: ['Content-Type', TEXT_PLAIN, ...extra], body, file: null, start: 0, end: body.length - 1, length: body.length, head: false, prepared: null };
}

const FORBIDDEN_LISTING = textReply(403, 'Forbidden: this is a folder and folders are not listed.');
const FORBIDDEN_SYMLINK = textReply(403, 'Forbidden: a symlink leads out of the static folder.');
const NOT_FOUND = textReply(404, 'Not found.');
const METHOD_NOT_ALLOWED = textReply(405, 'Method not allowed: static files answer GET and HEAD only.', ['Allow', 'GET, HEAD']);
// 412s carry no ETag or Last-Modified: Nginx clears both from its error replies (as for 416).
const IF_MATCH_FAILED = textReply(412, 'Precondition failed: If-Match does not match the current ETag.');
const IF_UNMODIFIED_SINCE_FAILED = textReply(412, 'Precondition failed: the file was modified after If-Unmodified-Since.');
const IF_MATCH_FAILED_HEAD: StaticReply = { ...IF_MATCH_FAILED, head: true };
const IF_UNMODIFIED_SINCE_FAILED_HEAD: StaticReply = { ...IF_UNMODIFIED_SINCE_FAILED, head: true };

/** Resolve a mount's root to its real path; throws a clear error if it is not a folder. */
function stateOf(mount: StaticMount): MountState {
  const root = resolve(mount.root);
  let realRoot: string;
  try {
    realRoot = realpathSync.native(root);
  } catch {
    throw new Error(`static folder for ${mount.prefix} does not exist: ${root}`);
  }
  if (probe(realRoot, realRoot).kind !== 'directory') throw new Error(`static root for ${mount.prefix} is not a folder: ${root}`);
  return { ...mount, root, realRoot };
}

/** Static mappings plus the shared cache; `match` then `respond` per request. */
export class StaticFiles {
  readonly mounts: readonly StaticMount[];
  private readonly states: MountState[];

  constructor(
    mounts: readonly StaticMount[],
    readonly cache: FileCache,
    /** Compression for files without precompressed siblings (compressed once, kept in the cache), or null. */
    readonly compression: Compression | null = null,
  ) {
    // Longest prefix first, so /static/img/ wins over /static/.
    this.states = mounts.map(stateOf).sort((a, b) => b.prefix.length - a.prefix.length);
    this.mounts = this.states;
  }

  /** The mount whose prefix starts `path` (a normalized URL path), or null. */
  match(path: string): StaticMount | null {
    const states = this.states;
    for (let i = 0; i < states.length; i++) {
      const state = states[i]!;
      if (path.startsWith(state.prefix)) return state;
    }
    return null;
  }

  /** Does `path` name a mount's folder without its trailing slash (`/static`)? Then redirect. */
  folderWithoutSlash(path: string): boolean {
    for (const state of this.states) if (path.length === state.prefix.length - 1 && state.prefix.startsWith(path)) return true;
    return false;
  }

  /**
   * Answer `method` on `path` (normalized, under `mount` from `match`). `header` reads request
   * headers; `now` is performance.now(), the clock of cache freshness.
   */
  respond(mount: StaticMount, path: string, method: string, header: HeaderReader, now: number): StaticReply {
    if (method !== 'GET' && method !== 'HEAD') return METHOD_NOT_ALLOWED;
    let entry = this.cache.fresh(path, now);
    if (entry === undefined) {
      const state = mount as MountState;
      const located = this.locate(state, path);
      if ('status' in located) return located;
      const loaded = this.cache.load(path, located, state.realRoot, state.precompressed, now);
      if (loaded === null) return NOT_FOUND;
      if (loaded.identity.headers.length === 0) decorate(loaded, state, this.compressible(loaded));
      entry = loaded;
    }
    if (this.compression !== null && entry.identity.body !== null && (entry.br === null || entry.gzip === null)) {
      // Accept-Encoding first: a client that asks for no coding costs no type lookup.
      const acceptEncoding = header('accept-encoding');
      if (acceptEncoding !== '' && this.compressible(entry)) this.compressOnce(entry, mount as MountState, acceptEncoding);
    }
    return represent(entry, method === 'HEAD', header);
  }

  /** Would the front compress this cached file itself (no sibling needed)? */
  private compressible(entry: FileEntry): boolean {
    const compression = this.compression;
    return compression !== null && entry.identity.body !== null && entry.identity.size >= compression.settings.minLength && compression.types.has(entry.contentType);
  }

  /** Make the coding this client wants, if the file lacks it: once per file version, kept in the cache. */
  private compressOnce(entry: FileEntry, mount: MountState, acceptEncoding: string): void {
    const coding = chooseCoding(acceptEncoding, true, true);
    if (coding === null || (coding === 'br' ? entry.br : entry.gzip) !== null) return;
    const rep = this.cache.addCoding(entry, coding, compressWhole(coding, entry.identity.body!, this.compression!.settings));
    decorateOne(rep, entry, mount, true);
  }

  /** Find the file for `path` on disk, or the reply that explains why there is none. */
  private locate(state: MountState, path: string): { real: string; stats: Stats } | StaticReply {
    const placed = fileUnderRoot(state.root, path.slice(state.prefix.length - 1));
    if (!placed.ok) return placed.status === 404 ? NOT_FOUND : textReply(placed.status, placed.reason);
    if (placed.directory) {
      if (state.index === null) return FORBIDDEN_LISTING;
      const found = probe(placed.file + '/' + state.index, state.realRoot);
      if (found.kind === 'file') return found;
      return found.kind === 'outside' ? FORBIDDEN_SYMLINK : FORBIDDEN_LISTING;
    }
    const found = probe(placed.file, state.realRoot);
    if (found.kind === 'file') return found;
    if (found.kind === 'outside') return FORBIDDEN_SYMLINK;
    if (found.kind === 'directory') return redirectToFolder(path);
    return NOT_FOUND;
  }
}

/** 301 to the same path with a trailing slash (what Nginx does for folders). */
export function redirectToFolder(path: string): StaticReply {
  return textReply(301, 'Moved permanently: this is a folder.', ['Location', encodeURI(path + '/')]);
}

/** Compute the per-representation header lists once, when the entry is loaded. */
function decorate(entry: FileEntry, mount: MountState, compressible: boolean): void {
  const varies = entry.br !== null || entry.gzip !== null || compressible;
  for (const rep of [entry.identity, entry.br, entry.gzip]) if (rep !== null) decorateOne(rep, entry, mount, varies);
}

function decorateOne(rep: Representation, entry: FileEntry, mount: MountState, varies: boolean): void {
  const validators = ['ETag', rep.etag, 'Last-Modified', rep.lastModified];
  if (mount.cacheControl !== null) validators.push('Cache-Control', mount.cacheControl);
  if (varies) validators.push('Vary', 'Accept-Encoding');
  rep.notModifiedHeaders = validators;
  rep.headers = ['Content-Type', entry.contentType, ...validators, 'Accept-Ranges', 'bytes'];
  if (rep.coding !== null) rep.headers.push('Content-Encoding', rep.coding);
  rep.prepared = rep.body === null ? null : new PreparedResponse(200, rep.headers, rep.body);
  rep.full = fullReply(rep, false);
  rep.fullHead = fullReply(rep, true);
}

function fullReply(rep: Representation, head: boolean): StaticReply {
  return { status: 200, statusLine: '200 OK', headers: rep.headers, body: rep.body, file: rep.body === null ? rep.file : null, start: 0, end: rep.size - 1, length: rep.size, head, prepared: rep.prepared };
}

function full(rep: Representation, head: boolean): StaticReply {
  return (head ? rep.fullHead : rep.full) ?? fullReply(rep, head);
}

/** Pick the representation, then apply the conditional and range headers (RFC 9110 §13.2.2 order). */
function represent(entry: FileEntry, head: boolean, header: HeaderReader): StaticReply {
  let rep = entry.identity;
  if (entry.br !== null || entry.gzip !== null) {
    const coding = chooseCoding(header('accept-encoding'), entry.br !== null, entry.gzip !== null);
    if (coding === 'br') rep = entry.br!;
    else if (coding === 'gzip') rep = entry.gzip!;
  }

  // Preconditions first (412), then the cache validators (304): two header reads when absent.
  const ifMatch = header('if-match');
  if (ifMatch !== '') {
    if (!matchHits(ifMatch, rep.etag)) return head ? IF_MATCH_FAILED_HEAD : IF_MATCH_FAILED;
  } else {
    const unmodifiedSince = header('if-unmodified-since');
    if (unmodifiedSince !== '' && modifiedSince(unmodifiedSince, rep.mtimeMs)) return head ? IF_UNMODIFIED_SINCE_FAILED_HEAD : IF_UNMODIFIED_SINCE_FAILED;
  }

  const noneMatch = header('if-none-match');
  if (noneMatch !== '') {
    if (noneMatchHits(noneMatch, rep.etag)) return notModified(rep, head);
  } else {
    const since = header('if-modified-since');
    if (since !== '' && notModifiedSince(since, rep.mtimeMs)) return notModified(rep, head);
  }

  if (head) return full(rep, true);
  const rangeHeader = header('range');
  if (rangeHeader === '') return full(rep, false);
  const ifRange = header('if-range');
  if (ifRange !== '' && !ifRangeHolds(ifRange, rep.etag, rep.lastModified)) return full(rep, false);
  const range = parseRange(rangeHeader, rep.size);
  if (range.kind === 'ignore') return full(rep, false);
  if (range.kind === 'unsatisfiable') {
    return textReply(416, 'Range not satisfiable.', ['Content-Range', `bytes */${rep.size}`]);
  }
  const { start, end } = range;
  const headers = rep.headers.slice();
  headers.push('Content-Range', `bytes ${start}-${end}/${rep.size}`);
  return {
    status: 206,
    statusLine: '206 Partial Content',
    headers,
    body: rep.body === null ? null : rep.body.subarray(start, end + 1),
    file: rep.body === null ? rep.file : null,
    start,
    end,
    length: end - start + 1,
    head: false,
    prepared: null,
  };
}

function notModified(rep: Representation, head: boolean): StaticReply {
  return { status: 304, statusLine: '304 Not Modified', headers: rep.notModifiedHeaders, body: null, file: null, start: 0, end: -1, length: -1, head, prepared: null };
}
