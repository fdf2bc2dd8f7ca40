/**
 * The front: static files first, then the reverse proxy — our Nginx.
 *
 *   client ──► engine (wire/http1 over node:net | node:http) ──► FrontCore.route()
 *                 ├─ static mapping ─► StaticFiles (FileCache in memory, large files from disk)
 *                 └─ otherwise ──────► ReverseProxy ─► Balancer ─► Upstream pool ─► app server
 *
 * `startFront` wires those pieces from a FrontConfig and returns a handle that can reload
 * (SIGHUP) and shut down gracefully (SIGTERM). The CLI (cli.ts) is a thin layer over this, and
 * tests start fronts in-process through it.
 */
import { settingsOf } from './config.ts';
import type { FrontConfig } from './config.ts';
import { FrontCore } from './front/core.ts';
import type { FrontListener } from './front/listener.ts';
import { FileCache } from './static/file-cache.ts';
import { startRedirect } from './tls/redirect.ts';
import type { RedirectListener } from './tls/redirect.ts';
import { LogWriter } from '../wire/log-writer.ts';

/** A running front. */
export interface RunningFront {
  readonly host: string;
  /** The port actually bound (differs from the configured one when that was 0). */
  readonly port: number;
  readonly core: FrontCore;
  readonly listener: FrontListener;
  /** The plain-HTTP redirect listener's port (--redirect-http), or null. */
  readonly redirectPort: number | null;
  /** Apply a new configuration; listen address and engine changes need a restart (returns why not applied). */
  reload(config: FrontConfig): string[];
  /** Stop accepting, let in-flight requests finish (up to `graceMs`), then close everything. */
  close(graceMs?: number): Promise<void>;
}

/** Where the front writes errors and refusals; stderr by default. */
export type ErrorLog = (line: string) => void;

let stderrWriter: LogWriter | undefined;
/** The default error log: stderr through the one LogWriter (bounded, never throws). */
const stderrLog: ErrorLog = (line) => (stderrWriter ??= new LogWriter('-', process.stderr, { what: 'error log' })).write(`[front] ${line}`);

/** Start a front for `config`. Rejects if the port is taken. */
export async function startFront(config: FrontConfig, errorLog: ErrorLog = stderrLog): Promise<RunningFront> {
  const cache = new FileCache(config.cache);
  const core = new FrontCore(settingsOf(config), cache, errorLog);
  let listener: FrontListener;
  try {
    // Only the chosen client side is loaded (once, at start): the other one's modules (node:http
    // and node:https for the http engine) would only take memory.
    listener = config.engine === 'http' ? (await import('./front/http-engine.ts')).createHttpListener(core) : (await import('./front/net-engine.ts')).createNetListener(core);
  } catch (error) {
    await core.close();
    throw error;
  }
  let port: number;
  try {
    port = await listener.listen(config.listen.host, config.listen.port);
  } catch (error) {
    await core.close();
    throw error;
  }
  let redirect: RedirectListener | null = null;
  if (config.redirectHttp !== null) {
    const c = config.client;
    try {
      redirect = await startRedirect(config.redirectHttp.host, config.redirectHttp.port, {
        httpsPort: port,
        headerTimeoutMs: c.headerTimeoutMs,
        keepAliveTimeoutMs: c.keepAliveTimeoutMs,
        maxHeaderSize: c.maxHeaderSize,
        log: errorLog,
      });
    } catch (error) {
      listener.stopAccepting();
      listener.closeAll();
      await core.close();
      throw new Error(`redirect-http ${config.redirectHttp.host}:${config.redirectHttp.port}: ${(error as Error).message}`);
    }
  }
  // With port 0 the real port is known only now; HTTP/1.0 clients without Host get it upstream.
  const fallbackHost = `${config.listen.host}:${port}`;
  core.settings.forwarding.fallbackHost = fallbackHost;
  let current = config;
  let closing: Promise<void> | null = null;
  return {
    host: config.listen.host,
    port,
    core,
    listener,
    redirectPort: redirect?.port ?? null,
    reload(next: FrontConfig): string[] {
      const ignored: string[] = [];
      if (next.engine !== current.engine) ignored.push(`engine ${current.engine} → ${next.engine} needs a restart`);
      if (next.listen.host !== current.listen.host || next.listen.port !== current.listen.port) ignored.push('a new listen address needs a restart');
      if ((next.tls === null) !== (current.tls === null)) ignored.push(`turning TLS ${next.tls === null ? 'off' : 'on'} needs a restart`);
      if (JSON.stringify(next.redirectHttp) !== JSON.stringify(current.redirectHttp)) ignored.push('a new redirect-http address needs a restart');
      // New certificates apply to new handshakes; whether the front speaks TLS at all does not change.
      const tls = (next.tls === null) === (current.tls === null) ? next.tls : current.tls;
      const settings = settingsOf({ ...next, engine: current.engine, listen: current.listen, tls, redirectHttp: current.redirectHttp });
      settings.forwarding.fallbackHost = fallbackHost;
      // Throws before changing anything (a missing static folder, an access log that cannot be
      // opened): the running configuration stays whole, cache sizes included.
      core.reconfigure(settings);
      core.cache.options.maxFileSize = next.cache.maxFileSize;
      core.cache.options.maxBytes = next.cache.maxBytes;
      core.cache.options.revalidateMs = next.cache.revalidateMs;
      listener.applySettings();
      current = { ...next, tls, redirectHttp: current.redirectHttp };
      return ignored;
    },
    close(graceMs = config.shutdownTimeoutMs): Promise<void> {
      closing ??= (async () => {
        core.closing = true;
        redirect?.close();
        listener.stopAccepting();
        let timer: NodeJS.Timeout | undefined;
        const expired = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            if (core.inFlight > 0) errorLog(`shutdown: ${core.inFlight} request(s) still in flight after ${graceMs} ms, closing them`);
            resolve();
          }, graceMs);
        });
        await Promise.race([core.whenIdle(), expired]);
        clearTimeout(timer);
        listener.closeAll();
        await core.close();
      })();
      return closing;
    },
  };
}
