/**
 * `npm run nginx-config` writes its limits and timeouts from the front's own declarations: every
 * directive it writes is compared here with the value our front runs with by default, so the two
 * fronts cannot drift apart; several upstream hosts are accepted; Nginx itself accepts the file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDuration, parseSize, resolveArgv } from '../options/index.ts';
import { loadConfig } from '../proxy/config.ts';
import { renderNginxConfig } from '../stack/nginx-config.ts';
import { NGINX_CONFIG_COMMAND } from '../stack/nginx-options.ts';

const dir = mkdtempSync(join(tmpdir(), 'nginx-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function render(argv: string[]): string {
  return renderNginxConfig(resolveArgv(NGINX_CONFIG_COMMAND, ['--run-dir', join(dir, 'run'), ...argv], {}).values);
}

/** The values of every `name value;` directive (the first word after the name), by name. */
function directives(text: string, name: string): string[] {
  return [...text.matchAll(new RegExp(`^\\s*${name}\\s+([^;\\n]+);`, 'gm'))].map((m) => m[1]!.trim());
}

describe('npm run nginx-config', () => {
  const front = loadConfig(['--upstream', '127.0.0.1:8001'], {});
  const text = render([]);
  const ms = (value: string) => parseDuration(value);
  const bytes = (value: string) => parseSize(value);

  /** Every limit and timeout directive written, and the front's default it must equal. */
  const expected: [directive: string, parse: (value: string) => number, frontDefault: number][] = [
    ['client_header_timeout', ms, front.client.headerTimeoutMs],
    ['client_body_timeout', ms, front.client.bodyTimeoutMs],
    ['send_timeout', ms, front.client.sendTimeoutMs],
    ['client_max_body_size', bytes, front.client.maxBodySize],
    ['large_client_header_buffers', (v) => bytes(v.split(/\s+/)[1]!), front.client.maxHeaderSize],
    ['proxy_connect_timeout', ms, front.connectTimeoutMs],
    ['proxy_read_timeout', ms, front.readTimeoutMs],
    ['proxy_send_timeout', ms, front.client.sendTimeoutMs],
    ['keepalive', Number, front.upstreamKeepalive],
  ];

  it('writes every limit and timeout with the front\'s default', () => {
    for (const [directive, parse, value] of expected) {
      const written = directives(text, directive);
      assert.equal(written.length, 1, `${directive} once`);
      assert.equal(parse(written[0]!), value, directive);
    }
    // keepalive_timeout appears twice: the clients' (http) and the upstream connections' (upstream block).
    const [clients, upstreamIdle] = directives(text, 'keepalive_timeout');
    assert.equal(ms(clients!), front.client.keepAliveTimeoutMs, 'client keepalive_timeout');
    assert.equal(ms(upstreamIdle!), front.upstreamIdleTimeoutMs, 'upstream keepalive_timeout');
    const server = directives(text, 'server');
    assert.deepEqual(server, [`127.0.0.1:8001 max_fails=${front.maxFails} fail_timeout=${front.failTimeoutMs / 1000}s`]);
    assert.equal(front.maxFails, 1);
    assert.equal(ms('30s'), front.client.headerTimeoutMs);
  });

  it('leaves no timeout, size or failure directive unchecked', () => {
    // The front puts no cap on requests per connection; keepalive_requests is Nginx's nearest to none.
    for (const cap of directives(text, 'keepalive_requests')) assert.ok(Number(cap) >= 10_000, `keepalive_requests ${cap}`);
    const checked = new Set([...expected.map(([d]) => d), 'keepalive_timeout', 'keepalive_requests', 'server']);
    const written = new Set([...text.matchAll(/^\s*([a-z_]*(?:timeout|size|buffers|fails|keepalive)[a-z_]*)\s/gm)].map((m) => m[1]!));
    for (const directive of written) assert.ok(checked.has(directive), `${directive} is compared with the front`);
  });

  it('takes the front\'s flags, and upstreams on several hosts', () => {
    const custom = render(['--upstream', '10.0.0.1:8001', '--upstream', '10.0.0.2:8001,unix:/run/app.sock', '--balance', 'least-conn', '--max-fails', '3', '--header-timeout', '10', '--max-body-size', '8m']);
    assert.deepEqual(directives(custom, 'server'), ['10.0.0.1:8001 max_fails=3 fail_timeout=10s', '10.0.0.2:8001 max_fails=3 fail_timeout=10s', 'unix:/run/app.sock max_fails=3 fail_timeout=10s']);
    assert.match(custom, /upstream layerstack_app \{\n\s+least_conn;/);
    assert.deepEqual(directives(custom, 'client_header_timeout'), ['10s']);
    assert.deepEqual(directives(custom, 'client_max_body_size'), ['8m']);
    assert.throws(() => render(['--upstream', 'nowhere']), /^ConfigError: --upstream: expected upstream addresses/);
  });

  it('is accepted by nginx -t', { skip: spawnSync('nginx', ['-v']).status !== 0 && 'nginx is not installed' }, () => {
    const run = join(dir, 'run');
    mkdirSync(join(run, 'nginx-tmp'), { recursive: true });
    const file = join(dir, 'nginx.conf');
    writeFileSync(file, render(['--upstream', '127.0.0.1:8001', '--upstream', '127.0.0.2:8001', '--listen', '127.0.0.1:0'.replace(':0', ':18080')]));
    const check = spawnSync('nginx', ['-t', '-q', '-p', run, '-e', join(run, 'error.log'), '-c', file], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
  });
});
