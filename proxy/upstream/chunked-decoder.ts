/**
 * Streaming decoder for `Transfer-Encoding: chunked` response bodies (RFC 9112 §7.1).
 *
 * The front must know exactly where an upstream response ends, or it cannot reuse the connection
 * safely; and the client-side engine re-frames the body itself, so the chunk framing is removed
 * here. Strict like the head parser: hex sizes without sign or padding tricks (at most 12 digits),
 * CRLF only, chunk extensions skipped but bounded, trailers read and dropped (bounded), a missing
 * final CRLF is an error. Data is handed on as zero-copy slices of the socket's buffers.
 */

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

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Decodes one chunked body; create one per response. */
export class ChunkedDecoder {
  private state = SIZE;
  private size = 0;
  private digits = 0;
  private overhead = 0;

  /** True once the terminating zero-size chunk and trailers have been read. */
  get done(): boolean {
    return this.state === DONE;
  }

  /**
   * Consume `buffer` from `start`, passing body bytes to `onData`. Returns the index just past the
   * end of the body when it ended inside this buffer, -1 when more input is needed, or a string
   * describing a framing error.
   */
  feed(buffer: Buffer, start: number, onData: (chunk: Buffer) => void): number | string {
    let i = start;
    const length = buffer.length;
    while (i < length) {
      switch (this.state) {
        case SIZE: {
          const c = buffer[i]!;
          const v = hexValue(c);
          if (v !== -1) {
            if (++this.digits > MAX_SIZE_DIGITS) return 'chunk size too long';
            this.size = this.size * 16 + v;
            i++;
            break;
          }
          if (this.digits === 0) return 'missing chunk size';
          if (c === 59 /* ; */) {
            this.state = EXTENSION;
            this.overhead = 0;
          } else if (c === 13) this.state = SIZE_LF;
          else return 'invalid character after chunk size';
          i++;
          break;
        }
        case EXTENSION: {
          const c = buffer[i++]!;
          if (c === 13) this.state = SIZE_LF;
          else if (c === 10 || ++this.overhead > MAX_EXTENSION_BYTES) return 'malformed chunk extension';
          break;
        }
        case SIZE_LF:
          if (buffer[i++] !== 10) return 'chunk size line not ended by CRLF';
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
          if (buffer[i++] !== 13) return 'chunk data not followed by CRLF';
          this.state = DATA_LF;
          break;
        case DATA_LF:
          if (buffer[i++] !== 10) return 'chunk data not followed by CRLF';
          this.state = SIZE;
          this.size = 0;
          this.digits = 0;
          break;
        case TRAILER_LINE_START:
          if (buffer[i] === 13) {
            i++;
            this.state = FINAL_LF;
          } else this.state = TRAILER_LINE;
          break;
        case TRAILER_LINE: {
          const c = buffer[i++]!;
          if (++this.overhead > MAX_TRAILER_BYTES) return 'trailer section too large';
          if (c === 13) this.state = TRAILER_LINE_LF;
          else if (c === 10) return 'bare LF in trailer';
          break;
        }
        case TRAILER_LINE_LF:
          if (buffer[i++] !== 10) return 'trailer line not ended by CRLF';
          this.state = TRAILER_LINE_START;
          break;
        case FINAL_LF:
          if (buffer[i++] !== 10) return 'chunked body not ended by CRLF';
          this.state = DONE;
          return i;
        default:
          return i;
      }
    }
    return -1;
  }
}
