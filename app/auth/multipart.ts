/**
 * The text fields of a multipart/form-data body (RFC 7578), which is what a browser's FormData
 * sends. File parts are skipped, as DRF puts them in request.FILES, not in request.data.
 * The whole body is already in memory (the views bound it), so this is a plain scan with
 * Buffer.indexOf, no streaming state machine.
 */

/** A body that does not follow the multipart grammar; the message is for the client. */
export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartError';
  }
}

/** Field name → value (the last one wins when a name repeats, as with Django's QueryDict.get). */
export function parseMultipartFields(body: Buffer, contentType: string): Record<string, string> {
  const boundary = parameter(contentType, 'boundary');
  if (boundary === null || boundary === '' || boundary.length > 200) throw new MultipartError(`Invalid boundary in multipart: ${boundary ?? 'None'}`);
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const nextDelimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  let position = body.indexOf(delimiter);
  if (position < 0) throw new MultipartError('no boundary found in the body');
  position += delimiter.length;
  for (;;) {
    if (body[position] === 0x2d && body[position + 1] === 0x2d) return fields; // "--": the closing delimiter
    if (body[position] !== 0x0d || body[position + 1] !== 0x0a) throw new MultipartError('expected a line break after the boundary');
    const headersStart = position + 2;
    const headersEnd = body.indexOf('\r\n\r\n', headersStart, 'latin1');
    if (headersEnd < 0) throw new MultipartError('part headers are not terminated');
    const valueEnd = body.indexOf(nextDelimiter, headersEnd + 4);
    if (valueEnd < 0) throw new MultipartError('part is not terminated by the boundary');
    const disposition = headerValue(body.toString('utf8', headersStart, headersEnd), 'content-disposition');
    if (disposition === null || !/^form-data\s*(;|$)/i.test(disposition)) throw new MultipartError('part without Content-Disposition: form-data');
    const name = parameter(disposition, 'name');
    if (name === null) throw new MultipartError('part without a name');
    if (parameter(disposition, 'filename') === null) fields[name] = body.toString('utf8', headersEnd + 4, valueEnd);
    position = valueEnd + nextDelimiter.length;
  }
}

function headerValue(block: string, wanted: string): string | null {
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === wanted) return line.slice(colon + 1).trim();
  }
  return null;
}

/** A `; name=value` or `; name="quoted \"value\""` parameter of a header value, or null. */
function parameter(header: string, wanted: string): string | null {
  const pattern = /;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g;
  for (let match = pattern.exec(header); match !== null; match = pattern.exec(header)) {
    if (match[1]!.toLowerCase() === wanted) return match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!;
  }
  return null;
}
