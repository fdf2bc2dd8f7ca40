/**
 * The front as a TLS terminator, on every client-side engine: HTTPS with node:https and curl,
 * TLS 1.2/1.3 only, X-Forwarded-Proto: https and the request id upstream, HSTS, the plain-HTTP
 * redirect listener, certificates swapped on reload without dropping open connections, and bad
 * input: failed handshakes, plain HTTP to the TLS port, bad certificate files at start and reload.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../options/index.ts';
import { configFrom } from '../proxy/config.ts';
import { ENGINES, eventually, rawRequest, request, startTestFront, startUpstream } from './proxy-harness.ts';
import type { TestFront, TestUpstream } from './proxy-harness.ts';
import { makeCertificate } from './support/certificates.ts';
import type { TestCertificate } from './support/certificates.ts';

interface TlsReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  peerSubject: string;
  protocol: string;
}

/** One HTTPS request; `agent` keeps a connection for several requests. */
function httpsGet(port: number, path: string, ca: string, agent: https.Agent | false = false): Promise<TlsReply> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, ca, agent, servername: 'localhost' }, (res) => {
      const socket = res.socket as tls.TLSSocket;
      const peerSubject = String(socket.getPeerCertificate().subject?.CN ?? '');
      const protocol = socket.getProtocol() ?? '';
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, peerSubject, protocol }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Try a handshake with `options`; resolves with the negotiated protocol or the error code. */
function handshake(port: number, options: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
      resolve(socket.getProtocol() ?? 'unknown');
      socket.destroy();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code ?? error.message}`));
  });
}

/**
 * One request on a new TLS connection that offers `session` (a ticket from an earlier one): was
 * the handshake a resumption, and which tickets did the server hand out on this connection?
 */
function ticketedGet(port: number, ca: string, session: Buffer | undefined, maxVersion: tls.SecureVersion): Promise<{ reused: boolean; tickets: Buffer[] }> {
  return new Promise((resolve, reject) => {
    const tickets: Buffer[] = [];
    let reused = false;
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', session, maxVersion }, () => {
      reused = socket.isSessionReused();
      socket.write('GET /api/ticket HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    socket.on('session', (ticket: Buffer) => tickets.push(ticket));
    socket.on('error', reject);
    socket.resume();
    socket.on('close', () => resolve({ reused, tickets }));
  });
}

const hasCurl = spawnSync('curl', ['--version']).status === 0;

for (const engine of ENGINES) {
  describe(`front over TLS (${engine})`, () => {
    let upstream: TestUpstream;
    let certificate: TestCertificate;
    let second: TestCertificate;
    let front: TestFront;
    let options: Record<string, string | string[]>;

    before(async () => {
      certificate = await makeCertificate('first.test');
      second = await makeCertificate('second.test');
      upstream = await startUpstream();
      options = {
        upstream: upstream.address,
        'tls-cert': certificate.cert,
        'tls-key': certificate.key,
        hsts: '31536000',
        'redirect-http': '127.0.0.1:0',
        'header-timeout': '1s',
      };
      front = await startTestFront(engine, options);
    });
    after(async () => {
      await front?.close();
      await upstream?.close();
      certificate?.remove();
      second?.remove();
    });

    it('proxies over HTTPS with X-Forwarded-Proto: https, HSTS and one request id on both sides', async () => {
      const reply = await httpsGet(front.port, '/api/x?y=1', certificate.pem);
      assert.equal(reply.status, 200);
      assert.equal(reply.peerSubject, 'first.test');
      assert.equal(reply.headers['strict-transport-security'], 'max-age=31536000');
      const seen = upstream.requests.at(-1)!;
      assert.equal(seen.url, '/api/x?y=1');
      assert.equal(seen.headers['x-forwarded-proto'], 'https');
      assert.match(String(reply.headers['x-request-id']), /^[0-9a-f-]{36}$/);
      assert.equal(seen.headers['x-request-id'], reply.headers['x-request-id']);
    });

    it('speaks TLS 1.3 and 1.2, and refuses clients that offer only TLS 1.0/1.1', async () => {
      assert.equal(await handshake(front.port, { minVersion: 'TLSv1.3' }), 'TLSv1.3');
      assert.equal(await handshake(front.port, { maxVersion: 'TLSv1.2' }), 'TLSv1.2');
      const old = await handshake(front.port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
      assert.match(old, /^error /);
      // A TLS 1.2 client offering only a non-forward-secret cipher is refused too.
      assert.match(await handshake(front.port, { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' }), /^error /);
      assert.equal((await httpsGet(front.port, '/api/after', certificate.pem)).status, 200);
    });

    it('answers plain HTTP sent to the TLS port with a plain 400 and closes; cuts a handshake that never finishes; keeps serving', async () => {
      const plain = await rawRequest(front.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 2000);
      assert.equal(plain.closed, true);
      // As Nginx (497): the client sees in plain text what went wrong, not an empty reply.
      assert.match(plain.text, /^HTTP\/1\.1 400 Bad Request\r\n/);
      assert.match(plain.text, /\r\nConnection: close\r\n/);
      assert.match(plain.text, /\r\n\r\nBad request: plain HTTP was sent to the HTTPS port; use https:\/\/ for this address\.\n$/);
      // A client that connects and sends nothing: cut within the header timeout (1 s here).
      const started = Date.now();
      const closed = await new Promise<number>((resolve) => {
        const socket = net.connect(front.port, '127.0.0.1');
        socket.on('error', () => {});
        socket.on('close', () => resolve(Date.now() - started));
      });
      assert.ok(closed < 10_000, `closed after ${closed} ms`);
      await eventually(() => front.errors.some((line) => /TLS: plain HTTP was sent to the HTTPS port/.test(line)), 3000, 'the plain-HTTP line');
      await eventually(() => front.errors.some((line) => /did not finish in time/.test(line)), 3000, 'the timeout line');
      assert.equal((await httpsGet(front.port, '/api/still', certificate.pem)).status, 200);
    });

    it('redirects plain HTTP on the redirect listener to the same URL over HTTPS', async () => {
      const port = front.front.redirectPort!;
      const reply = await request(port, '/some/path?q=1', { headers: { Host: 'example.test:8080' } });
      assert.equal(reply.status, 301);
      assert.equal(reply.headers.location, `https://example.test:${front.port}/some/path?q=1`);
      assert.equal(reply.headers['strict-transport-security'], undefined); // never over plain HTTP
      const bad = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: a/b@evil\r\n\r\n');
      assert.equal(bad.status, 400);
    });

    it('answers curl over HTTPS', { skip: !hasCurl && 'curl not installed' }, async () => {
      const out = await new Promise<string>((resolve, reject) =>
        execFile('curl', ['-sS', '--cacert', certificate.cert, '--resolve', `localhost:${front.port}:127.0.0.1`, '-o', '/dev/null', '-w', '%{http_code} %{ssl_verify_result}', `https://localhost:${front.port}/api/curl`], (error, stdout) =>
          error ? reject(error) : resolve(stdout),
        ),
      );
      assert.equal(out, '200 0');
    });

    it('resumes every connection with the last ticket and hands a new one on each resumption (TLS 1.3, 1.2)', async () => {
      // node:tls alone renews no ticket it accepts: a TLS 1.3 client, which uses a ticket once,
      // would resume only every other connection.
      for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
        let { tickets } = await ticketedGet(front.port, certificate.pem, undefined, version);
        assert.ok(tickets.length > 0, `${version}: a ticket after the full handshake`);
        for (let i = 0; i < 3; i++) {
          const next = await ticketedGet(front.port, certificate.pem, tickets.at(-1), version);
          assert.equal(next.reused, true, `${version}: connection ${i + 2} resumed`);
          // TLS 1.2 clients may reuse a ticket (node:tls reports no renewed one); TLS 1.3 needs a new one.
          if (version === 'TLSv1.3') assert.ok(next.tickets.length > 0, `${version}: a new ticket on resumed connection ${i + 2}`);
          if (next.tickets.length > 0) tickets = next.tickets;
        }
      }
    });

    it('takes a new certificate on reload without dropping open connections; bad files keep the old one', async () => {
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const before = await httpsGet(front.port, '/api/a', certificate.pem, agent);
        assert.equal(before.peerSubject, 'first.test');
        const ticketBeforeReload = (await ticketedGet(front.port, certificate.pem, undefined, 'TLSv1.3')).tickets.at(-1);
        assert.ok(ticketBeforeReload !== undefined);
        // Bad files on reload: the configuration is refused before anything changes.
        assert.throws(() => configFrom({ ...options, 'access-log': 'off', 'front-engine': engine, 'tls-cert': join(second.dir, 'missing.pem') }), ConfigError);
        assert.throws(() => configFrom({ ...options, 'access-log': 'off', 'front-engine': engine, 'tls-key': second.key }), /does not belong/);
        const ignored = front.front.reload(configFrom({ ...options, 'access-log': 'off', 'front-engine': engine, 'tls-cert': second.cert, 'tls-key': second.key }));
        assert.deepEqual(ignored.filter((l) => /TLS|redirect/.test(l)), []);
        // The kept-alive connection still works, with the certificate it started with.
        const same = await httpsGet(front.port, '/api/b', certificate.pem, agent);
        assert.equal(same.status, 200);
        assert.equal(same.peerSubject, 'first.test');
        await eventually(() => true);
        const fresh = await httpsGet(front.port, '/api/c', second.pem);
        assert.equal(fresh.peerSubject, 'second.test');
        // A ticket from before the reload (its keys went with the old certificate): a full
        // handshake with the new certificate, not an error.
        const old = await ticketedGet(front.port, second.pem, ticketBeforeReload, 'TLSv1.3');
        assert.equal(old.reused, false);
      } finally {
        agent.destroy();
      }
    });
  });
}

describe('TLS certificate problems at start', () => {
  let certificate: TestCertificate;
  let other: TestCertificate;
  before(async () => {
    certificate = await makeCertificate('good.test');
    other = await makeCertificate('other.test');
  });
  after(() => {
    certificate?.remove();
    other?.remove();
  });

  it('gives one clear line for a missing, non-PEM or mismatched file', () => {
    const base = { upstream: '127.0.0.1:9' };
    assert.throws(() => configFrom({ ...base, 'tls-cert': join(certificate.dir, 'nope.pem'), 'tls-key': certificate.key }), /TLS certificate .*nope\.pem cannot be read: no such file/);
    const junk = join(certificate.dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate\n');
    assert.throws(() => configFrom({ ...base, 'tls-cert': junk, 'tls-key': certificate.key }), /holds no PEM certificate/);
    assert.throws(() => configFrom({ ...base, 'tls-cert': certificate.cert, 'tls-key': junk }), /not a PEM private key/);
    assert.throws(() => configFrom({ ...base, 'tls-cert': certificate.cert, 'tls-key': other.key }), /does not belong to the certificate/);
    assert.throws(() => configFrom({ ...base, 'tls-cert': certificate.cert }), /--tls-cert: expected --tls-cert and --tls-key together$/);
    assert.throws(() => configFrom({ ...base, 'redirect-http': '127.0.0.1:0' }), /--redirect-http: expected --tls-cert and --tls-key with it/);
    assert.throws(() => configFrom({ ...base, 'tls-cert': certificate.cert, 'tls-key': certificate.key, hsts: 'forever' }), /--hsts: expected off, a max-age in seconds/);
    const good = configFrom({ ...base, 'tls-cert': certificate.cert, 'tls-key': certificate.key });
    assert.equal(new X509Certificate(good.tls!.certChain).subject, 'CN=good.test');
  });

  it('the proxy command exits non-zero with one line for a mismatched key', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'proxy/cli.ts', '--upstream', '127.0.0.1:9', '--listen', '127.0.0.1:0', '--tls-cert', certificate.cert, '--tls-key', other.key], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 2);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0]!, /^npm run proxy: --tls-cert \/ --tls-key: expected a readable PEM certificate and its key \(TLS key .* does not belong to the certificate/);
  });
});
