/**
 * `npm run setactive -- <username> yes|no`: activate or deactivate a user. An inactive user can
 * no longer log in, refresh, or use an access token it already holds (the auth middleware loads
 * the user on every request), as with Django's is_active.
 */
import { CommandError, runCommand } from './command.ts';

const USAGE = 'usage: npm run setactive -- <username> yes|no';

await runCommand(async (store, args) => {
  if (args.length !== 2 || !['yes', 'no'].includes(args[1]!)) throw new CommandError(USAGE, 2);
  const [username, flag] = args as [string, string];
  const user = await store.users.byUsername(username);
  if (user === undefined) throw new CommandError(`user "${username}" does not exist`);
  await store.users.setActive(user.id, flag === 'yes');
  return `User "${username}" is now ${flag === 'yes' ? 'active' : 'inactive'}.`;
});
