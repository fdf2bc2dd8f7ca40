/**
 * `npm run createuser -- <username> [--inactive]`: add a user to the store in the data directory
 * (--data-dir, DATA_DIR; default ./data). The password is prompted for twice with echo off on a
 * terminal, or read as one line from stdin otherwise:
 *
 *     printf '%s\n' "$PASSWORD" | npm run createuser -- alice
 */
import { CommandError, runCommand } from './command.ts';
import { CREATEUSER_COMMAND } from './store-commands.ts';
import { readNewPassword } from './password-input.ts';
import { passwordProblem } from './password-rules.ts';
import { hashPassword } from './passwords.ts';
import { usernameProblem } from './users.ts';

await runCommand(CREATEUSER_COMMAND, async (store, [username], { inactive }) => {
  const problem = usernameProblem(username!);
  if (problem !== null) throw new CommandError(problem);
  if ((await store.users.byUsername(username!)) !== undefined) throw new CommandError(`A user with the username "${username}" already exists.`);
  const password = await readNewPassword();
  const weak = passwordProblem(password, username!);
  if (weak !== null) throw new CommandError(weak);
  const user = await store.users.create(username!, await hashPassword(password), { isActive: !inactive });
  return `Created user "${user.username}" (id ${user.id}${inactive ? ', inactive' : ''}).`;
});
