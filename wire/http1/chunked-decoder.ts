/**
 * Streaming decoder for `Transfer-Encoding: chunked` bodies (RFC 9112 §7.1), for requests (the
 * front and the app engines) and upstream responses (the proxy) alike.
 *
 * A body's end must be known exactly, or whatever follows it on a keep-alive connection is read
 * as the next message (request smuggling, response desync). So it is strict: hex sizes without
 * sign, space or padding tricks (at most 12 digits), CRLF only (a bare LF or CR anywhere is an
 * error), chunk extensions skipped but bounded, trailer fields read, checked and dropped, and a
 * missing final CRLF is an error. Data is handed on as zero-copy slices of the caller's buffers.
 */
import { requestFailure } from './failure.ts';
import type { RequestFailure } from './failure.ts';

const SIZE = 0;
const EXTENSION = 1;
const SIZE_LF = 2;
const DATA = 3;
const DATA_CR = 4;
const DATA_LF = 5;
const TRAILER_LINE_START = 6;
const TRAILER_LINE = 7;
const TRAILER_LINE_LF = 8;
const FINAL_LF = 9;
const DONE = 10;

const MAX_SIZE_DIGITS = 12;
const MAX_EXTENSION_BYTES = 4096;
const MAX_TRAILER_BYTES = 16 * 1024;

/**
 * Trailer fields that would change how the message is framed or routed if a recipient merged
 * them into the header section (RFC 9110 §6.5.1): refused outright. Others are read and dropped.
 */
const FORBIDDEN_TRAILERS: ReadonlySet<string> = new Set([
  'content-length', 'transfer-encoding', 'host', 'trailer', 'connection', 'keep-alive', 'te', 'upgrade', 'expect',
]);

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function chunkError(reason: string): RequestFailure {
  return requestFailure('chunk', `malformed chunked body: ${reason}`);
}

/** Decodes one chunked body; create one per message. */
export class ChunkedDecoder {
  private state = SIZE;
  private size = 0;
  private digits = 0;
  private overhead = 0;
  private declared = 0;
  private trailer = '';

  /** `maxBody`: the most data bytes accepted in total (-1: no limit); past it the failure is 'body-too-large'. */
  constructor(private readonly maxBody = -1) {}

  /** True once the terminating zero-size chunk and trailers have been read. */
  get done(): boolean {
    return this.state === DONE;
  }

  /**
   * Consume `buffer` from `start`, passing body bytes to `onData`. Returns the index just past the
   * end of the body when it ended inside this buffer, -1 when more input is needed, or the failure.
   */
  feed(buffer: Buffer, start: number, onData: (chunk: Buffer) => void): number | RequestFailure {
    let i = start;
    const length = buffer.length;
    while (i < length) {
      switch (this.state) {
        case SIZE: {
          const c = buffer[i]!;
          const v = hexValue(c);
          if (v !== -1) {
            if (++this.digits > MAX_SIZE_DIGITS) return chunkError('chunk size too long');
            this.size = this.size * 16 + v;
            i++;
            break;
          }
          if (this.digits === 0) return chunkError('missing chunk size');
          if (c === 59 /* ; */) {
            this.state = EXTENSION;
            this.overhead = 0;
          } else if (c === 13) this.state = SIZE_LF;
          else return chunkError('invalid character after chunk size');
          i++;
          this.declared += this.size;
          if (this.maxBody >= 0 && this.declared > this.maxBody) {
            return requestFailure('body-too-large', `Payload too large: the body exceeds the limit of ${this.maxBody} bytes.`);
          }
          break;
        }
        case EXTENSION: {
          const c = buffer[i++]!;
          if (c === 13) this.state = SIZE_LF;
          else if (c === 10 || c === 0 || c === 127 || ++this.overhead > MAX_EXTENSION_BYTES) return chunkError('malformed chunk extension');
          break;
        }
        case SIZE_LF:
          if (buffer[i++] !== 10) return chunkError('chunk size line not ended by CRLF');
          if (this.size === 0) {
            this.state = TRAILER_LINE_START;
            this.overhead = 0;
          } else this.state = DATA;
          break;
        case DATA: {
          const take = Math.min(this.size, length - i);
          onData(buffer.subarray(i, i + take));
          i += take;
          this.size -= take;
          if (this.size === 0) this.state = DATA_CR;
          break;
        }
        case DATA_CR:
          if (buffer[i++] !== 13) return chunkError('chunk data not followed by CRLF');
          this.state = DATA_LF;
          break;
        case DATA_LF:
          if (buffer[i++] !== 10) return chunkError('chunk data not followed by CRLF');
          this.state = SIZE;
          this.size = 0;
          this.digits = 0;
          break;
        case TRAILER_LINE_START:
          if (buffer[i] === 13) {
            i++;
            this.state = FINAL_LF;
          } else {
            this.state = TRAILER_LINE;
            this.trailer = '';
          }
          break;
        case TRAILER_LINE: {
          const c = buffer[i++]!;
          if (++this.overhead > MAX_TRAILER_BYTES) return chunkError('trailer section too large');
          if (c === 13) this.state = TRAILER_LINE_LF;
          else if (c === 10 || c === 0) return chunkError('bare LF or NUL in trailer');
          else if (this.trailer.length < 64) this.trailer += String.fromCharCode(c);
          break;
        }
        case TRAILER_LINE_LF: {
          if (buffer[i++] !== 10) return chunkError('trailer line not ended by CRLF');
          const line = this.trailer;
          const colon = line.indexOf(':');
          if (colon <= 0 || line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9) return chunkError('malformed trailer field');
          if (FORBIDDEN_TRAILERS.has(line.slice(0, colon).toLowerCase())) return chunkError(`field ${line.slice(0, colon)} is not allowed in a trailer`);
          this.state = TRAILER_LINE_START;
          break;
        }
        case FINAL_LF:
          if (buffer[i++] !== 10) return chunkError('chunked body not ended by CRLF');
          this.state = DONE;
          return i;
        default:
          return i;
      }
    }
    return -1;
  }
}
