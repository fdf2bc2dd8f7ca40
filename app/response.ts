/** Small constructors for common responses, so apps do not spell headers by hand. */
import type { FileBody, Response, ResponseHeaders } from './interface.ts';

/** A JSON response; `body` is serialised compactly, as Django REST framework does. */
export function json(status: number, body: unknown, headers?: ResponseHeaders): Response {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

/** A UTF-8 plain-text response. */
export function text(status: number, body: string, headers?: ResponseHeaders): Response {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers }, body };
}

/** A UTF-8 HTML response. */
export function html(status: number, body: string, headers?: ResponseHeaders): Response {
  return { status, headers: { 'content-type': 'text/html; charset=utf-8', ...headers }, body };
}

/** A reference to (a slice of) a file that the server sends itself. */
export function file(path: string, slice?: { offset?: number; length?: number }): FileBody {
  return { kind: 'file', path, ...slice };
}

/** Whether a response body is a file reference. */
export function isFileBody(body: unknown): body is FileBody {
  return typeof body === 'object' && body !== null && (body as FileBody).kind === 'file';
}
