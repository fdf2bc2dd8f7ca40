/**
 * `npm run rotatekey`: rotate the signing key the app generated in the data directory
 * (app/auth/key-rotation.ts). Prints one line saying what was done, or one line saying why not
 * and exits non-zero (2 for a configuration the command cannot act on, 1 when there is no key).
 */
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, exitOnConfigError, optionsOrExit } from '../../options/index.ts';
import { checkDataDir } from '../store/data-dir.ts';
import { ALGORITHMS, type Algorithm } from './algorithms.ts';
import { rotateSigningKey } from './key-rotation.ts';
import { isAsymmetric } from './key-set.ts';
import { KeyConfigError } from './keys.ts';
import { ROTATEKEY_COMMAND } from './rotatekey-command.ts';
import { resolveSettings } from './settings.ts';

const { resolution } = optionsOrExit(ROTATEKEY_COMMAND, process.argv.slice(2), process.env, (r) => {
  checkDataDir(r.values.dataDir);
  return r;
});
const { dataDir, algorithm: chosen, keepFor } = resolution.values;

try {
  // The app's own reading of SIMPLE_JWT_* and SIGNING_KEY: the lifetimes, and whether the key in
  // the data directory is the one it signs with at all.
  const settings = resolveSettings({}, process.env);
  if (settings.SIGNING_KEY !== null) {
    throw new ConfigError('SIGNING_KEY', 'unset: the app signs with the configured SIGNING_KEY, not the key generated in the data directory; to rotate it, set the new one and SIMPLE_JWT_RETIRED_KEYS_FILE (docs/auth.md)');
  }
  const algorithm = chosen ?? onlyKeyIn(dataDir);
  if (!isAsymmetric(algorithm)) {
    throw new ConfigError(
      '--algorithm',
      `an asymmetric algorithm (RS*, ES*, EdDSA): ${algorithm} tokens carry no kid, so the old and the new secret could not both verify (deleting the key file instead makes every token invalid)`,
      algorithm,
    );
  }
  const keepSeconds = keepFor === undefined ? Math.max(settings.REFRESH_TOKEN_LIFETIME, settings.ACCESS_TOKEN_LIFETIME) + settings.LEEWAY : Math.ceil(keepFor / 1000);
  const done = rotateSigningKey(dataDir, algorithm, keepSeconds, Math.floor(Date.now() / 1000));
  const dropped = done.dropped === 0 ? '' : `; ${done.dropped} retired key${done.dropped === 1 ? '' : 's'} past ${done.dropped === 1 ? 'its' : 'their'} time dropped`;
  process.stdout.write(
    `Rotated the ${algorithm} signing key in ${resolve(dataDir)}: new kid ${done.newKid}; the old key (kid ${done.oldKid}) keeps verifying until ${new Date(done.oldKeyUntil * 1000).toISOString()}${dropped}. Reload the server (SIGHUP) to sign with the new key.\n`,
  );
} catch (error) {
  if (error instanceof ConfigError) exitOnConfigError(ROTATEKEY_COMMAND, error);
  if (!(error instanceof KeyConfigError)) throw error;
  process.stderr.write(`${ROTATEKEY_COMMAND.name}: ${error.message}\n`);
  process.exitCode = 1;
}

/** The algorithm of the one generated key in `dir`; a ConfigError when there are several, a KeyConfigError when none. */
function onlyKeyIn(dir: string): Algorithm {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    names = [];
  }
  const found = ALGORITHMS.filter((a) => names.includes(`jwt-signing-key.${a.toLowerCase()}`));
  if (found.length === 0) throw new KeyConfigError(`there is no generated signing key in ${resolve(dir)} (the app generates one on first start when SIGNING_KEY is not set): nothing to rotate`);
  if (found.length > 1) throw new ConfigError('--algorithm', `one of ${found.join(', ')}: ${resolve(dir)} holds keys for each`);
  return found[0]!;
}
