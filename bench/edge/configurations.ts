/**
 * The bench's edge configurations (issue 13): the front and Nginx, each in front of the same app
 * server (net engine, 1 worker), over TLS and with gzip. `npm run bench -- --configurations
 * front-tls-1,nginx-tls,front-gzip-1,nginx-gzip --scenario ping,tls-handshake,json-gzip`.
 *
 * TLS: one throw-away ECDSA P-256 certificate made with openssl in the run folder, TLS 1.2/1.3 and
 * the same cipher list on both sides. gzip: level 6, 1 KiB minimum on both; the app server hosts
 * bench/edge/json-app.ts (the demo's ping plus a 20 KB JSON page at /api/json/).
 * `npm run bench:edge` measures the same pairs (and static files, and access logs on) on its own.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TLS12_CIPHERS } from '../../proxy/tls/credentials.ts';
import type { Configuration, LaunchContext, LayerProcess } from '../configurations.ts';
import { nginxProxyLocation } from './nginx-proxy-location.ts';

const POOL_CLI = 'server/pool/cli.ts';
const FRONT_CLI = 'proxy/cli.ts';
const JSON_APP = 'bench/edge/json-app.ts#app';

/** The certificate and key in the run folder, made once. */
function certificate(runDir: string): { cert: string; key: string } {
  const cert = join(runDir, 'tls-cert.pem');
  const key = join(runDir, 'tls-key.pem');
  if (!existsSync(cert)) {
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    if (made.status !== 0) throw new Error('openssl could not make the bench certificate');
  }
  return { cert, key };
}

/** The app server for the edge pairs: net engine, 1 worker, through tsx (bench/ is not compiled). */
function upstream(c: LaunchContext, app: string | null): LayerProcess {
  const argv = [process.execPath, '--import', 'tsx', POOL_CLI, '--listen', `127.0.0.1:${c.ports.upstream}`, '--workers', '1', '--engine', 'net', '--access-log', 'off'];
  if (app !== null) argv.push('--app', app);
  return { layer: 'app', argv, port: c.ports.upstream! };
}

function front(c: LaunchContext, extra: string[]): LayerProcess {
  const argv = [process.execPath, join('dist', FRONT_CLI.replace(/\.ts$/, '.js')), '--listen', `127.0.0.1:${c.ports.main}`, '--upstream', `127.0.0.1:${c.ports.upstream}`, '--access-log', 'off', ...extra];
  return { layer: 'front', argv, port: c.ports.main! };
}

function nginx(c: LaunchContext, server: string): LayerProcess {
  const run = c.runDir;
  for (const dir of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(run, 'tmp', dir), { recursive: true });
  const conf = `worker_processes 1;
daemon off;
master_process on;
pid ${run}/nginx.pid;
error_log ${run}/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    client_body_temp_path ${run}/tmp/body;
    proxy_temp_path ${run}/tmp/proxy;
    fastcgi_temp_path ${run}/tmp/fastcgi;
    uwsgi_temp_path ${run}/tmp/uwsgi;
    scgi_temp_path ${run}/tmp/scgi;
    include /etc/nginx/mime.types;
    upstream app_server {
        server 127.0.0.1:${c.ports.upstream};
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
${server}${nginxProxyLocation(true)}
    }
}
`;
  const file = join(run, 'nginx.conf');
  writeFileSync(file, conf);
  return { layer: 'front', argv: ['nginx', '-p', run, '-e', join(run, 'error.log'), '-c', file], port: c.ports.main! };
}

const base = {
  kind: 'peer' as const,
  requiresFiles: [POOL_CLI, FRONT_CLI],
  portRoles: ['main', 'upstream'],
  readyPath: '/api/ping/',
  settleMs: 1000,
};

/** The edge pairs, in report order. */
export const EDGE_CONFIGURATIONS: readonly Configuration[] = [
  {
    ...base,
    name: 'front-tls-1',
    title: 'front over TLS in front of the app server (net engine, 1 worker)',
    kind: 'stack',
    scheme: 'https',
    capabilities: ['ping', 'tls'],
    requiresPrograms: ['openssl'],
    compiled: true,
    processes: (c) => {
      const { cert, key } = certificate(c.runDir);
      return [upstream(c, null), front(c, ['--tls-cert', cert, '--tls-key', key])];
    },
  },
  {
    ...base,
    name: 'nginx-tls',
    title: 'Nginx 1 worker over TLS in front of the app server (net engine, 1 worker)',
    scheme: 'https',
    capabilities: ['ping', 'tls'],
    requiresPrograms: ['nginx', 'openssl'],
    compiled: false,
    processes: (c) => {
      const { cert, key } = certificate(c.runDir);
      const server = `        listen 127.0.0.1:${c.ports.main} ssl;
        ssl_certificate ${cert};
        ssl_certificate_key ${key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ${TLS12_CIPHERS};
        ssl_prefer_server_ciphers on;`;
      return [upstream(c, null), nginx(c, server)];
    },
  },
  {
    ...base,
    name: 'front-gzip-1',
    title: 'front compressing (gzip 6) in front of the app server with a 20 KB JSON page',
    kind: 'stack',
    capabilities: ['ping', 'gzip'],
    requiresPrograms: [],
    compiled: true,
    processes: (c) => [upstream(c, JSON_APP), front(c, ['--compress', '--gzip-level', '6', '--compress-min-length', '1k'])],
  },
  {
    ...base,
    name: 'nginx-gzip',
    title: 'Nginx 1 worker compressing (gzip 6) in front of the same app server',
    capabilities: ['ping', 'gzip'],
    requiresPrograms: ['nginx'],
    compiled: false,
    processes: (c) => [
      upstream(c, JSON_APP),
      nginx(
        c,
        `        listen 127.0.0.1:${c.ports.main};
        gzip on;
        gzip_comp_level 6;
        gzip_min_length 1024;
        gzip_proxied any;
        gzip_vary on;
        gzip_types application/json;`,
      ),
    ],
  },
];
