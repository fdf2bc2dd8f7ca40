/**
 * `npm run nginx-config`'s options. Every setting that becomes an Nginx directive is the front's
 * own declaration (proxy/options.ts), so the generated file has the front's defaults and takes the
 * same flags: the two fronts cannot drift apart.
 */
import { type Command, listenOption, text } from '../options/index.ts';
import { FRONT_OPTIONS } from '../proxy/options.ts';

const F = FRONT_OPTIONS;

const OPTIONS = {
  listen: listenOption('127.0.0.1:8080', { help: 'Address Nginx listens on.' }),
  upstream: { ...F.upstream, default: ['127.0.0.1:8001'], help: 'App server(s) Nginx proxies to (repeatable; several hosts are balanced): the app server\'s --listen.' },
  staticRoot: text({ metavar: 'DIR', default: 'app/static', help: 'Folder served at /static/.' }),
  runDir: text({ metavar: 'DIR', default: 'data/nginx', help: 'Folder of Nginx\'s pid file, logs and temporary files (created).' }),
  out: text({ metavar: 'FILE', env: [], default: undefined, defaultText: 'stdout', help: 'Write the configuration to FILE.' }),
  balance: F.balance,
  maxBodySize: F.maxBodySize,
  maxHeaderSize: F.maxHeaderSize,
  headerTimeout: F.headerTimeout,
  bodyTimeout: F.bodyTimeout,
  keepAliveTimeout: F.keepAliveTimeout,
  sendTimeout: F.sendTimeout,
  connectTimeout: F.connectTimeout,
  readTimeout: F.readTimeout,
  upstreamIdleTimeout: F.upstreamIdleTimeout,
  upstreamKeepalive: F.upstreamKeepalive,
  maxFails: F.maxFails,
  failTimeout: F.failTimeout,
};

export const NGINX_CONFIG_COMMAND: Command<typeof OPTIONS> = {
  name: 'npm run nginx-config',
  summary:
    'Writes an Nginx configuration that does the front\'s job (static files + reverse proxy) in front of the app server, with the front\'s defaults; run it with `nginx -c FILE`.',
  options: OPTIONS,
};
