/**
 * First-start bootstrap: when the store has no user at all, create "admin" with a random password
 * and print it once, so a newcomer can log in straight away (and change it with
 * `npm run changepassword -- admin`). Safe with several workers starting at once: the insert
 * checks "no users" under the write lock, so exactly one process creates and prints.
 */
import { randomBytes } from 'node:crypto';
import { DEFAULT_SCRYPT, hashPassword, type ScryptParams } from './passwords.ts';
import type { Store } from './store.ts';

/** The bootstrap user's name. */
export const ADMIN_USERNAME = 'admin';

/** Create `admin` with a random password if there are no users; prints the password and returns it, or null. */
export async function ensureAdmin(
  store: Store,
  print: (line: string) => void,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<string | null> {
  if ((await store.users.count()) > 0) return null;
  // 18 random bytes → 24 base64url characters, 144 bits: unguessable, and easy to copy.
  const password = randomBytes(18).toString('base64url');
  const hash = await hashPassword(password, params);
  const user = await store.users.createIfNone(ADMIN_USERNAME, hash);
  if (user === null) return null;
  print(`Created user "${ADMIN_USERNAME}" with password: ${password}`);
  print(`(shown only this once; change it with: npm run changepassword -- ${ADMIN_USERNAME})`);
  return password;
}
