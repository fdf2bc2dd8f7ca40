/**
 * The seam between the worker pool and the code that speaks HTTP. A worker process hosts one app on
 * one Engine; the pool never touches a socket itself. Both engines translate the wire to the same
 * HostedRequest and call the app through callApp, so they differ only in speed and in the few
 * refusals uWebSockets.js makes on its own (docs/app-server.md lists them).
 */
import type { App } from '../../app/interface.ts';
import type { ParsedAddress } from '../../options/grammar.ts';
import type { HostOptions } from './host.ts';

/** One HTTP server hosting one app, with the lifecycle a pool worker needs. */
export interface Engine {
  /** Start listening; resolves with the address actually bound (port 0 becomes the real port). */
  listen(bind: ParsedAddress): Promise<ParsedAddress>;
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
export const ENGINE_NAMES = ['http', 'uws', 'wire'] as const;

/** An engine name accepted by `--engine`. */
export type EngineName = (typeof ENGINE_NAMES)[number];

/** Create the named engine. Imported lazily so a node:http worker never loads the uWS binary. */
export async function createEngine(name: EngineName, app: App, options: HostOptions): Promise<Engine> {
  switch (name) {
    case 'http':
      return new (await import('./node-http-engine.ts')).NodeHttpEngine(app, options);
    case 'uws':
      return new (await import('./uws/engine.ts')).UwsEngine(app, options);
    case 'wire':
      return new (await import('./wire/engine.ts')).WireEngine(app, options);
  }
}
