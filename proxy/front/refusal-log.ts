/**
 * What the front does with a request its client side refuses before routing it (malformed,
 * oversized, timed out), on either engine: one error-log line with the refusal's kind, an
 * access-log entry (refusals are requests too, as Nginx logs them), and the request id and extra
 * headers the refusal carries back to the client.
 */
import { performance } from 'node:perf_hooks';
import type { RequestFailure } from '../../wire/http1/failure.ts';
import type { RequestHead } from '../../wire/http1/request-head.ts';
import type { FrontCore } from './core.ts';

/**
 * Log the refusal of `head` (null when the head itself was refused: `requestLine` is then what
 * arrived of its first line) from `remoteAddress`; returns the refusal's extra header lines.
 */
export function logRefusal(core: FrontCore, failure: RequestFailure, head: RequestHead | null, remoteAddress: string, requestLine: string): string {
  // A refused head is logged with what arrived of its request line, as Nginx logs $request.
  const [method = '-', target = '-'] = head !== null ? [head.method, head.target] : requestLine === '' ? [] : requestLine.split(' ');
  const what = method === '-' ? '' : ` ${method} ${target}`;
  const requestId = core.requestId(head?.headers ?? [], remoteAddress);
  core.errorLog(`refused ${failure.status} (${failure.kind})${what} from ${remoteAddress} (request ${requestId}): ${failure.reason}`);
  const record = core.record(remoteAddress, method, target, head === null ? 1 : head.minor, head?.headers ?? [], failure.status, Buffer.byteLength(failure.reason) + 1, performance.now(), null, requestId);
  if (record !== null) core.accessLog.write(record);
  let extra = 'X-Request-Id: ' + requestId + '\r\n';
  for (let i = 0; i < core.extraHeaders.length; i += 2) extra += `${core.extraHeaders[i]}: ${core.extraHeaders[i + 1]}\r\n`;
  return extra;
}
