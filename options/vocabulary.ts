/**
 * The options several layers share, declared once so every command spells them alike: the listen
 * address, the access log and the graceful stop. A layer gives its own default; name, environment
 * variables, grammar and meaning stay the same everywhere.
 */
import { address, duration, text } from './declare.ts';

/** `-l, --listen ADDRESS` (env LAYERSTACK_LISTEN, HOST, PORT). */
export function listenOption(defaultAddress: string, rules: { unix?: boolean; portZero?: boolean; help?: string } = {}) {
  return address({
    short: 'l',
    unix: rules.unix,
    portZero: rules.portZero,
    hostEnv: 'HOST',
    portEnv: 'PORT',
    default: defaultAddress,
    help: rules.help ?? 'Address to listen on.',
  });
}

/** `--access-log PATH` (env LAYERSTACK_ACCESS_LOG). */
export const ACCESS_LOG_OPTION = text({ metavar: 'PATH', default: '-', help: 'Access log, one line per request: - (stdout), a file path, or off.' });

/** `--error-log PATH` (env LAYERSTACK_ERROR_LOG). */
export const ERROR_LOG_OPTION = text({ metavar: 'PATH', default: '-', help: 'Error log: - (stderr) or a file path, reopened on reload (log rotation).' });

/** `--graceful-timeout DURATION` (env LAYERSTACK_GRACEFUL_TIMEOUT). */
export const GRACEFUL_TIMEOUT_OPTION = duration({
  default: 30_000,
  help: 'Time a stopping process gets to finish in-flight requests (TERM, INT, reload).',
  trips: 'requests still running are cut: their clients see the connection close',
});
