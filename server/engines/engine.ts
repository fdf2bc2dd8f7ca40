/**
 * The seam between the worker pool and the code that speaks HTTP. A worker process hosts one app on
 * one Engine; the pool never touches a socket itself. Both engines translate the wire to the same
 * HostedRequest and call the app through callApp, so they differ only in speed and in the few
 * refusals uWebSockets.js makes on its own (docs/app-server.md lists them).
 */
import type { App } from '../../app/interface.ts';
import type { HostOptions } from './host.ts';

/** Where to listen: a TCP host and port, or a unix socket path. */
export type Bind = { readonly kind: 'tcp'; readonly host: string; readonly port: number } | { readonly kind: 'unix'; readonly path: string };

/** One HTTP server hosting one app, with the lifecycle a pool worker needs. */
export interface Engine {
  /** Start listening; resolves with the address actually bound (port 0 becomes the real port). */
  listen(bind: Bind): Promise<Bind>;
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

/** Builds an engine for an app. Adding an engine to the pool is one entry in ENGINES. */
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

/** Parse `host:port`, `[v6]:port`, `:port`, `port` or `unix:/path` (the --listen syntax). */
export function parseBind(text: string): Bind {
  if (text.startsWith('unix:')) {
    const path = text.slice(5);
    if (path === '') throw new Error(`--listen ${JSON.stringify(text)}: a unix socket needs a path, e.g. unix:/tmp/app.sock`);
    return { kind: 'unix', path };
  }
  const match = /^(?:\[([^\]]+)\]|([^:]*))?:?(\d+)$/.exec(text);
  if (match === null) throw new Error(`--listen ${JSON.stringify(text)} is not host:port or unix:/path`);
  const port = Number(match[3]);
  if (port > 65535) throw new Error(`--listen ${JSON.stringify(text)}: port ${port} is above 65535`);
  return { kind: 'tcp', host: match[1] ?? (match[2] || '127.0.0.1'), port };
}

/** The address as people write it: `127.0.0.1:8001`, `[::1]:8001` or `unix:/path`. */
export function formatBind(bind: Bind): string {
  if (bind.kind === 'unix') return `unix:${bind.path}`;
  return bind.host.includes(':') ? `[${bind.host}]:${bind.port}` : `${bind.host}:${bind.port}`;
}
