/**
 * uWebSockets.js reads its certificate and key from files by name, once, when the SSLApp is made.
 * The front hands it the material it already checked (leaf + chain joined, as uWS wants one
 * file) through a private temporary folder that is removed right after: nothing checked differs
 * from what is served, and no copy of the key stays on disk.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TlsCredentials } from './credentials.ts';

/** Call `make` with file names holding `credentials`; the files exist only during the call. */
export function withTlsFiles<T>(credentials: TlsCredentials, make: (files: { cert_file_name: string; key_file_name: string }) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'front-tls-')); // mode 0700
  try {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    writeFileSync(cert, credentials.certChain, { mode: 0o600 });
    writeFileSync(key, credentials.key, { mode: 0o600 });
    return make({ cert_file_name: cert, key_file_name: key });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
