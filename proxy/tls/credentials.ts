/**
 * The front's TLS certificate and key: read, checked, and turned into what node:tls and
 * uWebSockets.js take.
 *
 * Everything a user can get wrong is found here, at start (one clear line, non-zero exit) and on
 * SIGHUP (the running certificate stays, the error is logged), never at the first handshake: a
 * missing or unreadable file, a file that is not PEM, a key that does not belong to the
 * certificate, a chain file with something other than certificates in it.
 *
 * Protocols and ciphers follow Mozilla's "intermediate" profile, as Nginx is usually configured:
 * TLS 1.2 and 1.3 only (RFC 8996 deprecates 1.0 and 1.1), forward-secret AEAD ciphers only.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type tls from 'node:tls';
import type { SecureContextOptions } from 'node:tls';

/**
 * node:tls is required here only when a certificate is loaded: the front without TLS, and the
 * stack's supervisor checking its flags, then never pay its memory (about 1.5 MB resident).
 */
const requireBuiltin = createRequire(import.meta.url);

/** Where the certificate material lives (`--tls-cert`, `--tls-key`, `--tls-chain`). */
export interface TlsFiles {
  /** PEM certificate; may already hold the intermediate chain after the leaf (Nginx's ssl_certificate). */
  cert: string;
  /** PEM private key (unencrypted: the front starts unattended). */
  key: string;
  /** Optional PEM file of intermediate certificates sent after the leaf, or null. */
  chain: string | null;
}

/** Why the certificate material cannot be used. */
export type TlsProblem = 'unreadable' | 'not-pem' | 'mismatch' | 'rejected';

/** A typed failure: `kind` for code, `message` (one line) for the user. */
export class TlsCredentialsError extends Error {
  constructor(
    readonly kind: TlsProblem,
    message: string,
  ) {
    super(message);
  }
}

/** Checked certificate material, ready for node:tls (`options`) or uWS (`pem`). */
export interface TlsCredentials {
  readonly files: TlsFiles;
  /** The leaf certificate followed by the chain, PEM (what the client is sent). */
  readonly certChain: string;
  readonly key: string;
  /** For the start line: subject, issuer and expiry of the leaf. */
  readonly subject: string;
  readonly issuer: string;
  readonly validTo: string;
  /** node:tls secure-context options (certificate, key, protocol range, ciphers). */
  readonly options: SecureContextOptions;
}

/** TLS 1.3 suites (all AEAD) then TLS 1.2 ECDHE + AEAD suites, strongest first (Mozilla intermediate). */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** The TLS 1.2 part alone (OpenSSL's cipher-list syntax; uWS takes only this one string). */
export const TLS12_CIPHERS = TLS_CIPHERS.split(':').filter((name) => !name.startsWith('TLS_')).join(':');

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function read(what: string, path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : (error as Error).message;
    throw new TlsCredentialsError('unreadable', `TLS ${what} ${path} cannot be read: ${why}`);
  }
}

function certificatesIn(what: string, path: string, text: string): X509Certificate[] {
  const blocks = text.match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new TlsCredentialsError('not-pem', `TLS ${what} ${path} holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----")`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new TlsCredentialsError('not-pem', `TLS ${what} ${path}: certificate #${i + 1} is not valid: ${(error as Error).message}`);
    }
  });
}

/** Read and check the files; throws TlsCredentialsError with a one-line message. */
export function loadTlsCredentials(files: TlsFiles): TlsCredentials {
  const certText = read('certificate', files.cert);
  const keyText = read('key', files.key);
  const chainText = files.chain === null ? '' : read('chain', files.chain);
  const certs = certificatesIn('certificate', files.cert, certText);
  if (files.chain !== null) certs.push(...certificatesIn('chain', files.chain, chainText));
  let key: KeyObject;
  try {
    key = createPrivateKey(keyText);
  } catch (error) {
    const reason = /passphrase/i.test((error as Error).message) ? 'it is encrypted (give an unencrypted key)' : 'not a PEM private key';
    throw new TlsCredentialsError('not-pem', `TLS key ${files.key} cannot be used: ${reason}`);
  }
  const leaf = certs[0]!;
  if (!leaf.checkPrivateKey(key)) {
    throw new TlsCredentialsError('mismatch', `TLS key ${files.key} does not belong to the certificate ${files.cert} (subject ${oneLine(leaf.subject)})`);
  }
  const certChain = certs.map((c) => c.toString()).join('');
  const options: SecureContextOptions = {
    cert: certChain,
    key: keyText,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: TLS_CIPHERS,
    honorCipherOrder: true,
  };
  try {
    (requireBuiltin('node:tls') as typeof tls).createSecureContext(options); // what the handshake will use: anything OpenSSL refuses shows now
  } catch (error) {
    throw new TlsCredentialsError('rejected', `TLS certificate ${files.cert} / key ${files.key} refused by OpenSSL: ${(error as Error).message}`);
  }
  return { files, certChain, key: keyText, subject: oneLine(leaf.subject), issuer: oneLine(leaf.issuer), validTo: leaf.validTo, options };
}

function oneLine(name: string): string {
  return name.split('\n').join(', ');
}
