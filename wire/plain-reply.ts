/**
 * Plain answers a server writes itself, not an app: refusals, redirects, "not found". The body is
 * one sentence and a newline, so it reads well in curl and in a log; a refusal written straight
 * to a socket (the request never became a request object) is a complete HTTP/1.1 response that
 * closes the connection.
 */
import { statusLine } from './status-line.ts';

/** The Content-Type of a plain answer. */
export const TEXT_PLAIN = 'text/plain; charset=utf-8';

/** The body of a plain answer: the sentence and a newline. */
export function plainBody(message: string): Buffer {
  return Buffer.from(message + '\n');
}

/**
 * A whole HTTP/1.1 response for a raw socket, with `Connection: close` (after a refused head the
 * bytes that follow cannot be trusted to start a request); `extra` is a flat name, value list.
 */
export function closingReply(status: number, contentType: string, body: string, extra: readonly string[] = []): string {
  let head = `HTTP/1.1 ${statusLine(status)}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
  for (let i = 0; i < extra.length; i += 2) head += `${extra[i]}: ${extra[i + 1]}\r\n`;
  return `${head}Connection: close\r\n\r\n${body}`;
}
