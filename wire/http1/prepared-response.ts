/**
 * A response serialized once and sent many times: its status line, the header fields every
 * copy carries and its body, as bytes. A cached static file is the case it exists for: per
 * request only the fields that change (the request's id, Date, Connection) are added, copied
 * byte for byte next to the prepared ones (Http1Response.sendPrepared), so no head string is
 * built, concatenated and flattened per response.
 */
import { bodyless } from '../status-line.ts';
import { statusLine } from './response.ts';

/**
 * The name of a field each response sends with its own value (a request id), serialized once
 * with its `: `, so a prepared response copies it rather than writing the name as a string.
 */
export class PreparedField {
  readonly bytes: Buffer;

  constructor(readonly name: string) {
    this.bytes = Buffer.from(name + ': ', 'latin1');
  }
}

export class PreparedResponse {
  /** The status line and the fixed fields, each with its CRLF. */
  readonly head: Buffer;
  /** `Content-Length: N\r\n` for the body (HEAD announces it too). */
  readonly lengthLine: Buffer;

  /**
   * `fields`: a flat name, value list without framing fields (Content-Length, Transfer-Encoding,
   * Connection) or Date, which the response adds; written as latin1, as `send` writes them.
   */
  constructor(
    readonly status: number,
    fields: readonly string[],
    readonly body: Buffer,
  ) {
    // A bodyless status has no Content-Length to announce and nothing to copy: `send` it.
    if (bodyless(status)) throw new RangeError(`a prepared response needs a status that carries a body, not ${status}`);
    let text = statusLine(status, '');
    for (let i = 0; i < fields.length; i += 2) text += fields[i]! + ': ' + fields[i + 1]! + '\r\n';
    this.head = Buffer.from(text, 'latin1');
    this.lengthLine = Buffer.from(`Content-Length: ${body.length}\r\n`, 'latin1');
  }
}
