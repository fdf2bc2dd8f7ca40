/**
 * A bounded in-memory cache of static files: bytes for small files, validators for all.
 *
 * Why memory, and why synchronous file-system calls: on this machine every libuv threadpool round
 * trip (stat, open, read, close) costs a cross-thread wake-up, so streaming a 1 KB file from disk
 * costs ~230 µs of CPU against ~15 µs from memory (measured with `node --cpu-prof` on the 2-core
 * machine of bench/RESULTS.md).
 * A cached entry is served without touching the disk at all; at most once every
 * `revalidateMs` it is re-checked with a few synchronous syscalls (realpath + stat, microseconds on
 * a local disk) and reloaded if its mtime, ctime, size or inode changed. Loading reads files of at
 * most `maxFileSize` bytes synchronously: cheaper than four threadpool hops, and bounded. Larger
 * files get a metadata-only entry and are streamed from disk per request.
 *
 * The cache is bounded twice: total body bytes (`maxBytes`) and entries (`maxEntries`). Eviction is
 * least-recently-revalidated first (entries move to the back of the Map when re-checked), which is
 * LRU at `revalidateMs` granularity without paying for a Map reorder on every hit.
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import type { Coding } from './encoding.ts';
import { contentTypeFor } from '../../wire/mime.ts';
import { isWithinRoot } from '../../wire/static-path.ts';
import { etagFor, httpDate } from './validators.ts';
import type { PreparedResponse } from '../../wire/http1/prepared-response.ts';
import type { StaticReply } from './static-files.ts';

/** Cache bounds and freshness. */
export interface FileCacheOptions {
  /** Files up to this many bytes are held in memory; larger ones are streamed from disk. */
  maxFileSize: number;
  /** Total bytes of file bodies held in memory. */
  maxBytes: number;
  /** Most entries (with or without a body) kept. */
  maxEntries: number;
  /** An entry is re-checked against the disk at most this often (0 = on every request). */
  revalidateMs: number;
}

/** Defaults: 1 MiB files, 64 MiB in total, 10 000 entries, re-checked every second. */
export const DEFAULT_FILE_CACHE_OPTIONS: Readonly<FileCacheOptions> = Object.freeze({
  maxFileSize: 1024 * 1024,
  maxBytes: 64 * 1024 * 1024,
  maxEntries: 10_000,
  revalidateMs: 1000,
});

/** One servable representation of a file: the file itself or a precompressed sibling. */
export interface Representation {
  /** Real path on disk (symlinks resolved). */
  readonly file: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModified: string;
  readonly mtimeMs: number;
  /** The bytes, or null when the file is too large to cache and must be streamed. */
  readonly body: Buffer | null;
  /** `br` / `gzip` for a sibling, null for the file itself. */
  readonly coding: Coding | null;
  /** Response headers for 200/206 except Content-Length (flat name, value list); set by the server. */
  headers: string[];
  /** Response headers for 304 (validators, Cache-Control, Vary). */
  notModifiedHeaders: string[];
  /** The whole 200 response serialized once (cached bodies only), or null; set with `headers`. */
  prepared: PreparedResponse | null;
  /** The 200 replies to GET and to HEAD, made once with `headers`: the common answer allocates nothing. */
  full: StaticReply | null;
  fullHead: StaticReply | null;
}

/** A cached file with its precompressed siblings. */
export interface FileEntry {
  readonly identity: Representation;
  /** Precompressed siblings, or codings the front compressed once itself (see `addCoding`). */
  br: Representation | null;
  gzip: Representation | null;
  readonly contentType: string;
  /** performance-clock time of the last check against the disk. */
  checkedAt: number;
  /** Change detection for the file and its siblings: mtime, ctime, size, inode of each. */
  readonly fingerprint: string;
  /** Bytes of memory charged to the cache. */
  bytes: number;
}

/** What the disk says about a path under a root. */
export type Probe =
  | { kind: 'file'; real: string; stats: Stats }
  | { kind: 'directory' }
  | { kind: 'missing' }
  | { kind: 'outside' };

const MISSING: Probe = { kind: 'missing' };
const DIRECTORY: Probe = { kind: 'directory' };
const OUTSIDE: Probe = { kind: 'outside' };
// O_NONBLOCK: opening a FIFO planted in the static root must not block the event loop.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Look at `path` on disk: resolve symlinks (a real path outside `realRoot` is `outside`), then
 * stat. Anything but a regular file or a directory (sockets, FIFOs, devices) counts as missing.
 */
export function probe(path: string, realRoot: string): Probe {
  let real: string;
  try {
    real = realpathSync.native(path);
  } catch {
    return MISSING;
  }
  if (!isWithinRoot(realRoot, real)) return OUTSIDE;
  let stats: Stats;
  try {
    stats = statSync(real);
  } catch {
    return MISSING;
  }
  if (stats.isDirectory()) return DIRECTORY;
  if (!stats.isFile()) return MISSING;
  return { kind: 'file', real, stats };
}

function fingerprintOf(stats: Stats | null): string {
  return stats === null ? '-' : `${stats.mtimeMs}/${stats.ctimeMs}/${stats.size}/${stats.ino}`;
}

/** Read a whole small file through one descriptor, so the bytes and the stat agree. */
function readWhole(real: string): { stats: Stats; body: Buffer } | null {
  let fd = -1;
  try {
    fd = openSync(real, OPEN_FLAGS);
    const stats = fstatSync(fd);
    if (!stats.isFile()) return null;
    const body = Buffer.allocUnsafe(stats.size);
    let offset = 0;
    while (offset < body.length) {
      const n = readSync(fd, body, offset, body.length - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    return { stats, body: offset === body.length ? body : body.subarray(0, offset) };
  } catch {
    return null;
  } finally {
    if (fd !== -1) closeSync(fd);
  }
}

/** A file's representation as read (`body` null: too large to cache, served from disk) or compressed by the front. */
function representation(real: string, mtimeMs: number, size: number, body: Buffer | null, coding: Coding | null): Representation {
  return {
    file: real,
    size,
    etag: etagFor(mtimeMs, size, coding === null ? '' : coding === 'br' ? 'br' : 'gz'),
    lastModified: httpDate(mtimeMs),
    mtimeMs,
    body,
    coding,
    headers: [],
    notModifiedHeaders: [],
    prepared: null,
    full: null,
    fullHead: null,
  };
}

/** The in-memory cache; one per front, shared by every static mount. */
export class FileCache {
  readonly options: FileCacheOptions;
  private readonly entries = new Map<string, FileEntry>();
  private bytes = 0;

  constructor(options: Partial<FileCacheOptions> = {}) {
    this.options = { ...DEFAULT_FILE_CACHE_OPTIONS, ...options };
  }

  /** Bytes of file bodies held now. */
  get size(): number {
    return this.bytes;
  }

  /** Entries held now. */
  get count(): number {
    return this.entries.size;
  }

  /** The entry stored under `key` if it is still fresh enough to serve without a disk check. */
  fresh(key: string, now: number): FileEntry | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined && now - entry.checkedAt < this.options.revalidateMs) return entry;
    return undefined;
  }

  /**
   * Check `real` (already probed as a regular file inside the root) against the entry under
   * `key`: keep it if nothing changed, otherwise load the file and its siblings afresh.
   * `precompressed` says whether `.br`/`.gz` siblings are looked for. Returns null if the file
   * vanished in between.
   */
  load(key: string, found: { real: string; stats: Stats }, realRoot: string, precompressed: boolean, now: number): FileEntry | null {
    const brProbe = precompressed ? probe(found.real + '.br', realRoot) : MISSING;
    const gzProbe = precompressed ? probe(found.real + '.gz', realRoot) : MISSING;
    const brStats = brProbe.kind === 'file' ? brProbe.stats : null;
    const gzStats = gzProbe.kind === 'file' ? gzProbe.stats : null;
    const fingerprint = `${found.real}|${fingerprintOf(found.stats)}|${fingerprintOf(brStats)}|${fingerprintOf(gzStats)}`;

    const previous = this.entries.get(key);
    if (previous !== undefined) {
      this.entries.delete(key);
      if (previous.fingerprint === fingerprint) {
        previous.checkedAt = now;
        this.entries.set(key, previous);
        return previous;
      }
      this.bytes -= previous.bytes;
    }

    const identity = this.read(found.real, found.stats, null);
    if (identity === null) return null;
    const br = brProbe.kind === 'file' ? this.read(brProbe.real, brProbe.stats, 'br') : null;
    const gzip = gzProbe.kind === 'file' ? this.read(gzProbe.real, gzProbe.stats, 'gzip') : null;
    const bytes = (identity.body?.length ?? 0) + (br?.body?.length ?? 0) + (gzip?.body?.length ?? 0);
    const entry: FileEntry = {
      identity,
      br,
      gzip,
      contentType: contentTypeFor(found.real),
      checkedAt: now,
      fingerprint,
      bytes,
    };
    this.entries.set(key, entry);
    this.bytes += bytes;
    this.evict();
    return entry;
  }

  /**
   * Store `body`, the identity body of `entry` compressed with `coding` by the front itself, as
   * that coding's representation (when the file has no precompressed sibling). It lives and dies
   * with the entry: a changed file is reloaded without it and compressed again on demand.
   */
  addCoding(entry: FileEntry, coding: Coding, body: Buffer): Representation {
    const identity = entry.identity;
    const rep = representation(identity.file, identity.mtimeMs, body.length, body, coding);
    if (coding === 'br') entry.br = rep;
    else entry.gzip = rep;
    entry.bytes += body.length;
    this.bytes += body.length;
    this.evict();
    return rep;
  }

  /** Drop one entry (e.g. the file disappeared). */
  forget(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }

  /** Drop everything (reload with a new configuration). */
  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private read(real: string, stats: Stats, coding: Coding | null): Representation | null {
    if (stats.size > this.options.maxFileSize) return representation(real, stats.mtimeMs, stats.size, null, coding);
    const whole = readWhole(real);
    if (whole === null) return null;
    return representation(real, whole.stats.mtimeMs, whole.body.length, whole.body, coding);
  }

  private evict(): void {
    const { maxBytes, maxEntries } = this.options;
    for (const [key, entry] of this.entries) {
      if (this.bytes <= maxBytes && this.entries.size <= maxEntries) return;
      this.entries.delete(key);
      this.bytes -= entry.bytes;
    }
  }
}
