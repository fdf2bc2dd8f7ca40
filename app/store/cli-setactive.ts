/**
 * `npm run setactive -- <username> yes|no`: activate or deactivate a user. An inactive user can
 * no longer log in, refresh, or use an access token it already holds (the auth middleware loads
 * the user on every request), as with Django's is_active.
 */
import { ConfigError } from '../../options/index.ts';
import { CommandError, runCommand } from './command.ts';
import { SETACTIVE_COMMAND } from './store-commands.ts';

await runCommand(SETACTIVE_COMMAND, async (store, [username, flag]) => {
  if (flag !== 'yes' && flag !== 'no') throw new ConfigError(JSON.stringify(flag), 'yes or no (npm run setactive -- <username> yes|no)');
  const user = await store.users.byUsername(username!);
  if (user === undefined) throw new CommandError(`user "${username}" does not exist`);
  await store.users.setActive(user.id, flag === 'yes');
  return `User "${username}" is now ${flag === 'yes' ? 'active' : 'inactive'}.`;
});
