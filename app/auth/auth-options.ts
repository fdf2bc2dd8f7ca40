/**
 * The auth middleware's settings besides simplejwt's, declared once with the option system: the
 * commands that run the app take them as options and hand them to it through the environment.
 * FORWARDED_ALLOW_IPS is Gunicorn's name for the same setting.
 */
import { duration, list, resolveArgv } from '../../options/index.ts';

/** A deactivated user is locked out within a second. */
export const DEFAULT_USER_CACHE_MS = 1000;

export const AUTH_OPTIONS = {
  userCache: duration({
    default: DEFAULT_USER_CACHE_MS,
    help: 'How long a loaded user is reused before the store is asked again; a deactivated user keeps access at most this long (0: ask every time).',
  }),
  forwardedAllowIps: list({
    metavar: 'IP|CIDR|*',
    env: ['LAYERSTACK_FORWARDED_ALLOW_IPS', 'FORWARDED_ALLOW_IPS'],
    default: undefined,
    defaultText: 'loopback',
    help: 'Peers whose X-Forwarded-For is believed for the client address (login throttling); "*" trusts every peer.',
  }),
};

/** The auth settings from an environment (what the commands hand to the app); throws ConfigError. */
export function authSettingsFromEnv(env: Readonly<Record<string, string | undefined>>) {
  return resolveArgv({ name: 'the auth settings', summary: '', options: AUTH_OPTIONS }, [], env).values;
}
