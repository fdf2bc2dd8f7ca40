/** What the pieces of the wire engine share: the host's options, resolved once per engine. */
import type { ErrorReporter } from '../../../app/errors.ts';
import type { Http1Settings } from '../../../wire/http1/connection.ts';
import type { Limits } from '../../../wire/limits.ts';
import { reporterFor } from '../client-gone.ts';
import type { AccessEntry, HostOptions } from '../host.ts';

export class NetContext {
  readonly limits: Limits;
  readonly report: ErrorReporter;
  readonly onAccess: ((entry: AccessEntry) => void) | undefined;
  readonly onRefused: HostOptions['onRefused'];
  readonly serverTiming: boolean;

  constructor(options: HostOptions) {
    this.limits = options.limits;
    this.report = reporterFor(options.report, options.onClientGone);
    this.onAccess = options.onAccess;
    this.onRefused = options.onRefused;
    this.serverTiming = options.serverTiming === true;
  }

  settings(): Http1Settings {
    return wireSettings(this.limits);
  }
}

/**
 * The wire settings from the app server's limits (both engines read requests with them). The
 * body timeout is the time between two reads of a body (a slow but steady upload is never cut);
 * the app server's --request-timeout (a whole-request bound) bounds it from above.
 */
export function wireSettings(limits: Limits): Http1Settings {
  return {
    maxHeaderSize: limits.maxHeaderSize,
    maxRequestLine: limits.maxRequestLine,
    maxHeaderFields: limits.maxHeaderCount,
    maxBodySize: limits.maxBodySize,
    headerTimeoutMs: limits.headerTimeout,
    bodyTimeoutMs: Math.min(limits.headerTimeout, limits.requestTimeout),
    keepAliveTimeoutMs: limits.keepAliveTimeout,
    sendTimeoutMs: limits.sendTimeout,
  };
}
