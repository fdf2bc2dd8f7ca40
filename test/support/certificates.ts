/** Throw-away TLS certificates for tests, made at test time (never checked in). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

/** A self-signed certificate for `commonName` (also a SAN for localhost and 127.0.0.1), as files. */
export interface TestCertificate {
  dir: string;
  cert: string;
  key: string;
  /** The PEM text of the certificate (a client's `ca` to trust it). */
  pem: string;
  remove(): void;
}

export async function makeCertificate(commonName = 'localhost'): Promise<TestCertificate> {
  const made = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    days: 2,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  } as Parameters<typeof generate>[1]);
  const dir = mkdtempSync(join(tmpdir(), 'test-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  writeFileSync(cert, made.cert);
  writeFileSync(key, made.private, { mode: 0o600 });
  return { dir, cert, key, pem: made.cert, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
