/**
 * The seam between the worker pool and the code that speaks HTTP. A worker process hosts one app on
 * one Engine; the pool never touches a socket itself. Both engines translate the wire to the same
 * HostedRequest and call the app through callApp:
 *   net   the project's HTTP/1.1 server (wire/http1 over node:net), the front's parser: every
 *         request of the raw-request corpus answered as it should be (the default);
 *   http  node:http, with requests read by the same parser in front of llhttp (the gate,
 *         wire/http1/node-http-gate.ts): the same answers to every corpus file, a little slower.
 * uWebSockets.js was an engine until its parser (20.30, the last build for this glibc) proved
 * unfixable from JavaScript: no answer to most malformed requests, duplicate Content-Length read
 * as two requests, header names with `.` or `|` never answered; bench/RESULTS.md has the figures.
 */
import type { Socket } from 'node:net';
import type { App } from '../../app/interface.ts';
import type { ParsedAddress } from '../../options/grammar.ts';
import type { HostOptions } from './host.ts';

/** One HTTP server hosting one app, with the lifecycle a pool worker needs. */
export interface Engine {
  /** Start listening; resolves with the address actually bound (port 0 becomes the real port). */
  listen(bind: ParsedAddress): Promise<ParsedAddress>;
  /**
   * Serve a connection accepted elsewhere: in a pool worker, the master accepts every connection
   * and deals it to a worker (server/pool/dealer.ts); the worker never listens itself.
   */
  adopt(socket: Socket): void;
  /** Stop taking new connections; requests already received keep running. */
  stopAccepting(): void;
  /**
   * Stop accepting, close idle keep-alive connections, let in-flight requests finish (their
   * connections close after the response), and resolve true once none are left, or false if
   * `timeoutMs` passed first.
   */
  drain(timeoutMs: number): Promise<boolean>;
  /** Cut every connection now (after a drain timed out, or on an immediate stop). */
  close(): void;
}

/** Builds an engine for an app. Adding an engine is one name in ENGINE_NAMES and one case in createEngine. */
export type EngineFactory = (app: App, options: HostOptions) => Engine | Promise<Engine>;

/** The engines the pool offers, by the name `--engine` takes. */
export const ENGINE_NAMES = ['net', 'http'] as const;

/** An engine name accepted by `--engine`. */
export type EngineName = (typeof ENGINE_NAMES)[number];

/** Create the named engine (imported lazily: a worker loads only the one it runs). */
export async function createEngine(name: EngineName, app: App, options: HostOptions): Promise<Engine> {
  switch (name) {
    case 'http':
      return new (await import('./node-http-engine.ts')).NodeHttpEngine(app, options);
    case 'net':
      return new (await import('./net/engine.ts')).NetEngine(app, options);
  }
}
