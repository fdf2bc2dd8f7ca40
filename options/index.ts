/**
 * The one option system of every command (bottom layer: imports nothing of the project).
 *
 * Declare a command's options once, in a table of declarations (see declare.ts for the rules):
 *
 *   import { duration, integer, address, type Command } from '../options/index.ts';
 *   export const SERVE: Command<typeof OPTIONS> = { name: 'npm run serve', summary: '…', options: OPTIONS };
 *   const OPTIONS = {
 *     listen: address({ short: 'l', default: '127.0.0.1:8001', hostEnv: 'HOST', portEnv: 'PORT', help: '…' }),
 *     workers: integer({ min: 1, max: 1024, default: () => cores(), defaultText: 'one per core', help: '…' }),
 *     readTimeout: duration({ default: 60_000, help: '…', trips: '504 Gateway Timeout' }),
 *   };
 *
 * and in the entry point:  `const { resolution } = optionsOrExit(SERVE);  resolution.values.workers`.
 * Precedence: defaults < config file (-c/--config, LAYERSTACK_CONFIG) < environment < flags.
 * Grammar (grammar.ts): durations `500ms`/`30s`/`2m` (bare number = seconds), sizes `16k`/`1m`
 * (bare number = bytes). Mistakes are a ConfigError naming the option and the accepted form.
 */
export { ConfigError, Rejected } from './error.ts';
export * from './grammar.ts';
export * from './declare.ts';
export * from './resolve.ts';
export * from './help.ts';
export * from './command-line.ts';
export * from './vocabulary.ts';
