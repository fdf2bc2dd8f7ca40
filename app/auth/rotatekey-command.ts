/** `npm run rotatekey`'s options, declared with the option system like the store tools'. */
import { duration, oneOf } from '../../options/index.ts';
import { DATA_DIR_OPTION } from '../store/data-dir.ts';
import { ALGORITHMS } from './algorithms.ts';
import type { Command, OptionTable } from '../../options/index.ts';

const OPTIONS = {
  dataDir: DATA_DIR_OPTION,
  algorithm: oneOf(ALGORITHMS, {
    env: ['LAYERSTACK_ALGORITHM', 'SIMPLE_JWT_ALGORITHM'],
    default: undefined,
    defaultText: 'the one key in the data directory',
    help: 'Which generated key to rotate (its ALGORITHM); only needed when the data directory holds keys for several.',
  }),
  keepFor: duration({
    min: 1000,
    default: undefined,
    defaultText: 'the longest token lifetime + LEEWAY',
    help: 'How long the old key keeps verifying: until every token it signed has expired. Default: SIMPLE_JWT_REFRESH_TOKEN_LIFETIME (or the access lifetime, if longer) plus SIMPLE_JWT_LEEWAY, as the app reads them.',
  }),
} satisfies OptionTable;

export const ROTATEKEY_COMMAND: Command<typeof OPTIONS> = {
  name: 'npm run rotatekey',
  summary:
    'Replace the signing key generated in the data directory (RS*, ES*, EdDSA) with a new one; the old key keeps verifying the tokens it signed until they expire. Reload the server (SIGHUP) afterwards so it signs with the new key.',
  positionals: { usage: '', min: 0, max: 0 },
  options: OPTIONS,
};
