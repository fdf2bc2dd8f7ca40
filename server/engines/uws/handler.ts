/**
 * The uWS request handler: copy the head, refuse what the limits refuse, build the same
 * HostedRequest the node:http engine builds, call the app through callApp, and answer. A small
 * synchronous answer (the hot path: GET /api/ping/) is written right here, inside the uWS
 * callback where the socket is corked, so it leaves in one write; anything else becomes an
 * Exchange (exchange.ts) that outlives the callback.
 */
import { performance } from 'node:perf_hooks';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { StreamedBody } from '../../../app/body.ts';
import { callApp } from '../../../app/errors.ts';
import { RequestHeaders } from '../../../app/headers.ts';
import type { App } from '../../../app/interface.ts';
import { HostedRequest } from '../../../app/request.ts';
import { bodyless } from '../../../wire/status-line.ts';
import { appTiming } from '../outgoing.ts';
import { BodyPipe } from './body.ts';
import { type EngineContext, UNIX_ENDPOINT } from './context.ts';
import { Exchange, respondLater } from './exchange.ts';
import { head, readHead, refusalOf, UwsPeer } from './request.ts';
import { statusLine } from '../../../wire/status-line.ts';
import { BAD_HEADERS_BODY, closeIterable, flattenChecked, JSON_TYPE, writeWhole } from './response.ts';

export function createHandler(app: App, context: EngineContext): (res: HttpResponse, req: HttpRequest) => void {
  const { limits, report, onAccess, serverTiming, timed } = context;
  const maxBody = limits.maxBodySize;

  function refuse(res: HttpResponse, status: number, detail: string): void {
    context.onRefused?.(status, detail, { address: Buffer.from(res.getRemoteAddressAsText()).toString('latin1'), port: 0 });
    res.writeStatus(statusLine(status)).writeHeader('content-type', 'application/json').end(JSON.stringify({ detail }), true);
  }

  return function handle(res: HttpResponse, req: HttpRequest): void {
    const start = timed ? performance.now() : 0;
    readHead(req);
    const length = head.declaredLength === null ? null : Number(head.declaredLength);
    const refusal = refusalOf(limits, length);
    if (refusal !== null) return refuse(res, refusal[0], refusal[1]);

    let pipe: BodyPipe | null = null;
    if (head.chunked || (length !== null && length > 0)) {
      pipe = new BodyPipe(res, maxBody);
      res.onData(pipe.push);
    }
    const local = context.local;
    const peer = local === UNIX_ENDPOINT ? null : new UwsPeer(res);
    // The access log reads the address after `res` is gone: take it now.
    if (onAccess !== undefined && peer !== null) void peer.address;
    const request = new HostedRequest({
      method: head.method,
      target: head.target,
      headers: new RequestHeaders(head.headers, true),
      body: new StreamedBody(pipe, length, maxBody),
      client: peer ?? UNIX_ENDPOINT,
      server: local,
    });
    context.active++;
    if (context.draining) context.lastArrival = Date.now();
    const result = callApp(app, request, report);

    if (!(result instanceof Promise)) {
      const body = result.body;
      const simple = body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
      if (simple || bodyless(result.status)) {
        // The hot path: still inside the uWS callback, so the socket is corked for us.
        const list = flattenChecked(result.headers);
        const close = context.draining || (pipe !== null && !pipe.complete);
        const timing = serverTiming ? appTiming(performance.now() - start) : null;
        let status = result.status;
        let bytes: number;
        if (list === null) {
          report(new TypeError('app sent a response header that is not a token or has control characters'), request);
          status = 500;
          bytes = writeWhole(res, request, 500, JSON_TYPE, BAD_HEADERS_BODY, timing, close, false);
        } else {
          closeIterable(body);
          bytes = writeWhole(res, request, status, list, simple ? (body as string | Uint8Array | null | undefined) ?? null : null, timing, close, onAccess !== undefined);
        }
        if (onAccess !== undefined) context.log(request, status, bytes, start);
        peer?.detach();
        context.active--;
        return;
      }
    }
    const ex = new Exchange(context, res, request, peer, pipe, start);
    res.onAborted(ex.onAborted);
    if (result instanceof Promise) result.then((response) => respondLater(ex, response)).catch(ex.fail);
    else respondLater(ex, result);
  };
}
