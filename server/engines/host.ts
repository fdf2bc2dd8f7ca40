/**
 * What every engine needs to host an app: the limits it enforces, where app failures are
 * reported, and the optional per-request observers (access log, Server-Timing).
 */
import type { ErrorReporter } from '../../app/errors.ts';
import type { RequestHeaders } from '../../app/headers.ts';
import type { Endpoint, Request } from '../../app/interface.ts';
import type { AccessRecord } from '../../wire/access-log.ts';
import type { Limits } from '../../wire/limits.ts';

/** One finished request, as the access log sees it. */
export interface AccessEntry {
  method: string;
  target: string;
  httpVersion: string;
  status: number;
  /** Body bytes sent to the client. */
  bytes: number;
  /** Milliseconds from the request head's arrival to the last byte handed to the socket. */
  durationMs: number;
  client: Endpoint;
  headers: RequestHeaders;
}

/** The access log's view of an entry (the one access-log format, wire/access-log.ts). */
export function accessRecordOf(entry: AccessEntry): AccessRecord {
  return {
    client: entry.client.address || '-',
    method: entry.method,
    target: entry.target,
    httpVersion: entry.httpVersion,
    status: entry.status,
    bytes: entry.bytes,
    referer: entry.headers.get('referer') ?? '',
    userAgent: entry.headers.get('user-agent') ?? '',
    requestMs: entry.durationMs,
  };
}

/** How an engine hosts an app. */
export interface HostOptions {
  limits: Limits;
  /** Called with every error an app throws (not HttpError); may return a page to send (dev). */
  report: ErrorReporter;
  /** Called once per request after the response is sent (or the client went away). */
  onAccess?: (entry: AccessEntry) => void;
  /** Add `Server-Timing: app;dur=<ms>` to every response, measuring the app's own time. */
  serverTiming?: boolean;
  /** Called for requests refused before they reached the app (400/408/413/414/431). */
  onRefused?: (status: number, reason: string, client: Endpoint) => void;
  /** Called when a client closed its connection before sending the whole body the app was reading. */
  onClientGone?: (request: Request) => void;
}
