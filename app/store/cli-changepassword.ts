/**
 * `npm run changepassword -- <username>`: set a user's password (prompted with echo off on a
 * terminal, one line from stdin otherwise). Every refresh token the user holds is blacklisted,
 * so sessions started with the old password end when their access token expires.
 */
import { CommandError, runCommand } from './command.ts';
import { CHANGEPASSWORD_COMMAND } from './store-commands.ts';
import { readNewPassword } from './password-input.ts';
import { passwordProblem } from './password-rules.ts';
import { hashPassword } from './passwords.ts';

await runCommand(CHANGEPASSWORD_COMMAND, async (store, [username]) => {
  const user = await store.users.byUsername(username!);
  if (user === undefined) throw new CommandError(`user "${username}" does not exist`);
  const password = await readNewPassword();
  const weak = passwordProblem(password, username!);
  if (weak !== null) throw new CommandError(weak);
  await store.users.setPassword(user.id, await hashPassword(password));
  const revoked = await store.tokens.blacklistAllForUser(user.id, Math.floor(Date.now() / 1000));
  return `Password changed for user "${username}"; ${revoked} refresh token(s) revoked.`;
});
