/**
 * The one configuration error of every command. It names the option as the user wrote it (the
 * flag, the environment variable or the config file key) and the form that would have been
 * accepted, so the message alone is enough to fix the mistake. Commands print `message` on one
 * line and exit 2; nothing else about a configuration mistake is ever printed.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** The option as the user wrote it: `--workers`, `WEB_CONCURRENCY (--workers)`, `config file a.json: "workers"`. */
  readonly option: string;
  /** What would have been accepted, e.g. "a whole number from 1 to 1024". */
  readonly accepted: string;
  /** The rejected value as given (JSON-quoted), when there was one. */
  readonly got: string | undefined;

  constructor(option: string, accepted: string, got?: unknown) {
    const shown = got === undefined ? undefined : typeof got === 'string' ? JSON.stringify(got) : describe(got);
    super(`${option}: expected ${accepted}${shown === undefined ? '' : `, got ${shown}`}`);
    this.option = option;
    this.accepted = accepted;
    this.got = shown;
  }
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * A value a kind's grammar refused, before it is known where the value came from; resolution
 * turns it into a ConfigError naming the source.
 */
export class Rejected extends Error {
  constructor(readonly accepted: string) {
    super(accepted);
  }
}
