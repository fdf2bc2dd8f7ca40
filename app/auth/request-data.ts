/**
 * DRF's `request.data` for the token views: the body parsed by its Content-Type with DRF's
 * default parsers (JSON, form-encoded, multipart) and DRF's answers when that fails: 415
 * `Unsupported media type "<type>" in request.` for any other type, 400 `JSON parse error - …`
 * for bad JSON. As in DRF, an empty body is an empty form whatever its type, so it reaches field
 * validation (400 "This field is required.") rather than the media-type check.
 */
import { isUtf8 } from 'node:buffer';
import type { Request, Response } from '../interface.ts';
import { json } from '../response.ts';
import { MultipartError, parseMultipartFields } from './multipart.ts';

/** Largest body the token views read (64 KiB); past it the client gets 413. */
export const DATA_LIMIT = 64 * 1024;

/** The media types the views parse, in DRF's order (also what OPTIONS reports under "parses"). */
export const PARSED_MEDIA_TYPES: readonly string[] = Object.freeze(['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data']);

/** Parsed data and Python's name for its type (DRF's "Expected a dictionary, but got list."). */
export type RequestData = { ok: true; data: unknown; typeName: string } | { ok: false; response: Response };

/** Read and parse the body of `request`, at most `limit` bytes (HttpError 413 past it). */
export async function readRequestData(request: Request, limit = DATA_LIMIT): Promise<RequestData> {
  const contentType = request.headers.get('content-type') ?? '';
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
  // A declared non-empty body of a type we cannot parse is refused before it is read.
  if (request.body.length !== 0 && request.body.length !== null && !PARSED_MEDIA_TYPES.includes(mediaType)) return unsupported(contentType);
  const body = await request.body.bytes(limit);
  if (body.byteLength === 0) return { ok: true, data: Object.create(null), typeName: 'dict' };
  switch (mediaType) {
    case 'application/json':
      return parseJson(body);
    case 'application/x-www-form-urlencoded':
      return { ok: true, data: lastValues(new URLSearchParams(body.toString('utf8'))), typeName: 'dict' };
    case 'multipart/form-data':
      try {
        return { ok: true, data: parseMultipartFields(body, contentType), typeName: 'dict' };
      } catch (error) {
        if (!(error instanceof MultipartError)) throw error;
        return { ok: false, response: json(400, { detail: `Multipart form parse error - ${error.message}` }) };
      }
    default:
      return unsupported(contentType);
  }
}

function unsupported(contentType: string): RequestData {
  return { ok: false, response: json(415, { detail: `Unsupported media type "${contentType}" in request.` }) };
}

function parseJson(body: Buffer): RequestData {
  if (!isUtf8(body)) return parseError('the body is not valid UTF-8');
  const text = body.toString('utf8');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return parseError(describeJsonError((error as Error).message, text));
  }
  return { ok: true, data, typeName: pythonTypeName(data, text) };
}

function parseError(reason: string): RequestData {
  return { ok: false, response: json(400, { detail: `JSON parse error - ${reason}` }) };
}

/**
 * V8's message, without the excerpt of the input it may quote (that could be a password), and
 * with the position given as Python's json module gives it: "line 1 column 23 (char 22)".
 */
function describeJsonError(message: string, text: string): string {
  const withoutExcerpt = message.replace(/, ".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '');
  const at = /at position (\d+)/.exec(message);
  if (at === null) return withoutExcerpt;
  const char = Number(at[1]);
  const before = text.slice(0, char);
  const line = before.split('\n').length;
  const column = char - before.lastIndexOf('\n');
  return `${withoutExcerpt}: line ${line} column ${column} (char ${char})`;
}

/** How Python would name the parsed value's type, for DRF's messages. */
function pythonTypeName(data: unknown, text: string): string {
  if (data === null) return 'NoneType';
  if (Array.isArray(data)) return 'list';
  switch (typeof data) {
    case 'string':
      return 'str';
    case 'boolean':
      return 'bool';
    case 'number':
      return /^\s*-?\d+\s*$/.test(text) ? 'int' : 'float';
    default:
      return 'dict';
  }
}

/** A form as DRF's serializer fields see it: each name's last value. */
function lastValues(params: URLSearchParams): Record<string, string> {
  const data: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of params) data[name] = value;
  return data;
}
