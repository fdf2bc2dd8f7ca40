/**
 * Reading a password for the CLIs: on a terminal, prompted with echo off (raw mode, so nothing
 * typed is shown or kept in the terminal's scrollback); otherwise the whole of stdin, so scripts
 * can pipe it in (`printf '%s\n' "$PW" | npm run createuser -- alice`) without it appearing in
 * the process list as an argument would.
 */
import type { ReadStream } from 'node:tty';

/** Where the password comes from and where prompts go. */
export interface PasswordSource {
  readonly input: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly output: NodeJS.WritableStream;
}

/** The user gave up (Ctrl-C, Ctrl-D, end of input) or typed two different passwords. */
export class PasswordInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PasswordInputError';
  }
}

/** Read a new password: prompted twice on a terminal, one line from stdin otherwise. */
export async function readNewPassword(source: PasswordSource = { input: process.stdin, output: process.stderr }): Promise<string> {
  if (!source.input.isTTY) return readPipedPassword(source.input);
  const first = await promptHidden('Password: ', source.input as ReadStream, source.output);
  const second = await promptHidden('Password (again): ', source.input as ReadStream, source.output);
  if (first !== second) throw new PasswordInputError("Passwords don't match.");
  return first;
}

/** The password piped on stdin: everything up to an optional final newline, which must be the only one. */
export async function readPipedPassword(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += bytes.byteLength;
    if (size > 64 * 1024) throw new PasswordInputError('stdin holds more than 64 KiB; expected one line with the password');
    chunks.push(bytes);
  }
  const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (text.includes('\n')) throw new PasswordInputError('stdin holds several lines; expected one line with the password');
  if (text === '') throw new PasswordInputError('no password on stdin');
  return text;
}

function promptHidden(prompt: string, input: ReadStream, output: NodeJS.WritableStream): Promise<string> {
  output.write(prompt);
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();
  let value = '';
  let inEscape = false;
  return new Promise((resolve, reject) => {
    const finish = (error: Error | null): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (error === null) resolve(value);
      else reject(error);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (inEscape) {
          // Skip the rest of a terminal escape sequence (arrow keys etc.): it ends with a letter or '~'.
          if (/[A-Za-z~]/.test(ch)) inEscape = false;
          continue;
        }
        if (ch === '\r' || ch === '\n') return finish(null);
        if (ch === '\u0003') return finish(new PasswordInputError('interrupted'));
        if (ch === '\u0004') {
          if (value === '') return finish(new PasswordInputError('end of input'));
          continue;
        }
        if (ch === '\u007f' || ch === '\b') value = Array.from(value).slice(0, -1).join('');
        else if (ch === '\u0015') value = '';
        else if (ch === '\u001b') inEscape = true;
        else if (ch >= ' ') value += ch;
      }
    };
    input.on('data', onData);
  });
}
