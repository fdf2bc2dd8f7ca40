/**
 * The front's --tls-cert / --tls-key / --tls-chain flags, read and checked. Its own module so that
 * the stack's supervisor can check a certificate before anything starts without loading the
 * front's runtime (proxy/config.ts pulls in the request handling, static files, compression).
 */
import { resolve } from 'node:path';
import { ConfigError } from '../../options/index.ts';
import { loadTlsCredentials, TlsCredentialsError, type TlsCredentials } from './credentials.ts';

/** Read and check the certificate and key (both or neither); a problem is a ConfigError. */
export function tlsOf(cert: string | undefined, key: string | undefined, chain: string | undefined): TlsCredentials | null {
  if (cert === undefined && key === undefined) {
    if (chain !== undefined) throw new ConfigError('--tls-chain', '--tls-cert and --tls-key with it');
    return null;
  }
  if (cert === undefined || key === undefined) throw new ConfigError(cert === undefined ? '--tls-key' : '--tls-cert', '--tls-cert and --tls-key together');
  try {
    return loadTlsCredentials({ cert: resolve(cert), key: resolve(key), chain: chain === undefined ? null : resolve(chain) });
  } catch (error) {
    if (error instanceof TlsCredentialsError) throw new ConfigError('--tls-cert / --tls-key', `a readable PEM certificate and its key (${error.message})`);
    throw error;
  }
}
