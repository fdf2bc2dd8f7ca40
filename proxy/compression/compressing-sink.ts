/**
 * Compression of proxied responses, as a ClientSink between the proxy and the client-side engine:
 * the proxy and the engines know nothing about it, so it works on every engine.
 *
 *   ReverseProxy ──► CompressingSink ──► engine's sink (node:http, uWS, …) ──► client
 *
 * A whole small response (`complete`, at most one upstream read) is compressed in one synchronous
 * call, as Nginx does in its worker: a threadpool round trip costs more than compressing 20 KB.
 * A streamed response goes through a zlib stream; backpressure runs both ways: the upstream is
 * paused while the compressor's input is full or the client is slow, the compressor is paused
 * while the client is slow.
 *
 * A response that breaks midway is cut (`destroy`): the compressor is dropped without being
 * finished, so the client never receives a gzip/brotli trailer that would make a truncated body
 * look complete; the chunked framing ends without its last chunk.
 */
import { brotliCompressSync, createBrotliCompress, createGzip, gzipSync } from 'node:zlib';
import type { BrotliCompress, Gzip } from 'node:zlib';
import type { ClientSink } from '../upstream/proxy.ts';
import { chooseCoding } from './negotiate.ts';
import type { Coding } from './negotiate.ts';
import { compressibleStatus, zlibOptions } from './policy.ts';
import type { CompressibleTypes, CompressionSettings } from './policy.ts';

/** What the request said that matters for compressing its response. */
export interface CompressionRequest {
  acceptEncoding: string;
  /** The request had a Range header. */
  range: boolean;
}

/** The compiled compression configuration the front core holds. */
export interface Compression {
  settings: CompressionSettings;
  types: CompressibleTypes;
}

/** Where the few headers the decision needs sit in a flat name, value list (-1: absent). */
interface HeaderIndex {
  contentType: number;
  contentEncoding: number;
  cacheControl: number;
  vary: number;
  etag: number;
  acceptRanges: number;
}

function indexHeaders(headers: readonly string[]): HeaderIndex {
  const at: HeaderIndex = { contentType: -1, contentEncoding: -1, cacheControl: -1, vary: -1, etag: -1, acceptRanges: -1 };
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'vary') at.vary = i;
        else if (name.toLowerCase() === 'etag') at.etag = i;
        break;
      case 12:
        if (name.toLowerCase() === 'content-type') at.contentType = i;
        break;
      case 13:
        if (name.toLowerCase() === 'cache-control') at.cacheControl = i;
        else if (name.toLowerCase() === 'accept-ranges') at.acceptRanges = i;
        break;
      case 16:
        if (name.toLowerCase() === 'content-encoding') at.contentEncoding = i;
        break;
    }
  }
  return at;
}

/** Add `Accept-Encoding` to the response's Vary (once; `*` already covers it). */
function addVary(headers: string[], at: number): void {
  if (at === -1) {
    headers.push('Vary', 'Accept-Encoding');
    return;
  }
  const value = headers[at + 1]!;
  if (value.trim() === '*' || /(?:^|,)\s*accept-encoding\s*(?:,|$)/i.test(value)) return;
  headers[at + 1] = value.trim() === '' ? 'Accept-Encoding' : value + ', Accept-Encoding';
}

/**
 * Decide for one response: the coding to apply (and the headers rewritten for it), or null to pass
 * it through untouched except, when it qualifies, for `Vary`.
 */
function decide(compression: Compression, request: CompressionRequest, status: number, headers: string[], length: number): Coding | null {
  // Too short to compress: the cheapest test first (most proxied API answers stop here). Every
  // test before addVary only refuses, so their order changes nothing but the cost.
  if (length >= 0 && length < compression.settings.minLength) return null;
  if (!compressibleStatus(status) || request.range) return null;
  const at = indexHeaders(headers);
  if (at.contentEncoding !== -1 && headers[at.contentEncoding + 1]!.trim().toLowerCase() !== 'identity') return null;
  if (at.contentType === -1 || !compression.types.has(headers[at.contentType + 1]!)) return null;
  if (at.cacheControl !== -1 && /no-transform/i.test(headers[at.cacheControl + 1]!)) return null;
  addVary(headers, at.vary);
  const coding = chooseCoding(request.acceptEncoding, true, true);
  if (coding === null) return null;
  // The compressed bytes are another representation: a strong validator of the plain one would
  // lie (RFC 9110 §8.8.1), a weak one still lets If-None-Match work (Nginx does the same).
  if (at.etag !== -1 && !headers[at.etag + 1]!.startsWith('W/')) headers[at.etag + 1] = 'W/' + headers[at.etag + 1];
  if (at.contentEncoding !== -1) headers[at.contentEncoding + 1] = coding;
  else headers.push('Content-Encoding', coding);
  if (at.acceptRanges !== -1) headers.splice(at.acceptRanges, 2); // last: it shifts later indices
  return coding;
}

/** Compress a whole body at once. */
export function compressWhole(coding: Coding, body: Buffer, settings: CompressionSettings): Buffer {
  return coding === 'gzip' ? gzipSync(body, zlibOptions('gzip', settings, body.length)) : brotliCompressSync(body, zlibOptions('br', settings, body.length));
}

/** A ClientSink that compresses what qualifies and passes everything else straight on. */
export class CompressingSink implements ClientSink {
  private compressor: Gzip | BrotliCompress | null = null;
  private abortHandler: (() => void) | null = null;
  private clientBlocked = false;
  private resumeUpstream: (() => void) | null = null;

  constructor(
    private readonly inner: ClientSink,
    private readonly compression: Compression,
    private readonly request: CompressionRequest,
  ) {}

  get aborted(): boolean {
    return this.inner.aborted;
  }

  get onAbort(): (() => void) | null {
    return this.abortHandler;
  }

  set onAbort(handler: (() => void) | null) {
    this.abortHandler = handler;
    // While a compressor runs, the engine's abort must stop it too (even after the proxy is done).
    this.inner.onAbort = this.compressor !== null ? () => this.innerAborted() : handler;
  }

  private innerAborted(): void {
    this.compressor?.destroy();
    this.compressor = null;
    const handler = this.abortHandler;
    this.abortHandler = null;
    handler?.();
  }

  complete(status: number, reason: string, headers: string[], body: Buffer, length: number, obsText: boolean): void {
    const coding = length >= 0 ? decide(this.compression, this.request, status, headers, length) : null;
    if (coding === null) return this.inner.complete(status, reason, headers, body, length, obsText);
    const compressed = compressWhole(coding, body, this.compression.settings);
    this.inner.complete(status, reason, headers, compressed, compressed.length, obsText);
  }

  start(status: number, reason: string, headers: string[], length: number, obsText: boolean): void {
    const coding = decide(this.compression, this.request, status, headers, length);
    if (coding === null) return this.inner.start(status, reason, headers, length, obsText);
    const settings = this.compression.settings;
    const compressor = coding === 'gzip' ? createGzip(zlibOptions('gzip', settings, length)) : createBrotliCompress(zlibOptions('br', settings, length));
    this.compressor = compressor;
    this.inner.onAbort = () => this.innerAborted();
    // Closures are made here, for streamed compressed responses only: most responses never need them.
    const clientWritable = (): void => {
      this.clientBlocked = false;
      this.compressor?.resume();
      this.maybeResume();
    };
    compressor.on('data', (out: Buffer) => {
      if (this.inner.aborted) return;
      if (!this.inner.write(out)) {
        this.clientBlocked = true;
        compressor.pause();
        this.inner.whenWritable(clientWritable);
      }
    });
    compressor.on('end', () => {
      this.compressor = null;
      this.inner.onAbort = null;
      if (!this.inner.aborted) this.inner.end();
    });
    compressor.on('error', () => {
      this.compressor = null;
      this.inner.destroy();
    });
    compressor.on('drain', () => this.maybeResume());
    this.inner.start(status, reason, headers, -1, obsText);
  }

  write(chunk: Buffer): boolean {
    const compressor = this.compressor;
    if (compressor === null) return this.inner.write(chunk);
    // `chunk` is a view of the proxy's shared read buffer and zlib reads it later: copy.
    const room = compressor.write(Buffer.from(chunk));
    return room && !this.clientBlocked;
  }

  whenWritable(resume: () => void): void {
    if (this.compressor === null) return this.inner.whenWritable(resume);
    this.resumeUpstream = resume;
    this.maybeResume();
  }

  end(): void {
    if (this.compressor === null) return this.inner.end();
    this.compressor.end(); // 'end' (all compressed output written) ends the client's response
  }

  destroy(): void {
    // Never end the compressor here: that would write a valid trailer after a truncated body.
    const compressor = this.compressor;
    this.compressor = null;
    compressor?.destroy();
    this.inner.destroy();
  }

  private maybeResume(): void {
    const compressor = this.compressor;
    if (this.resumeUpstream === null || this.clientBlocked || (compressor !== null && compressor.writableNeedDrain)) return;
    const resume = this.resumeUpstream;
    this.resumeUpstream = null;
    resume();
  }
}
