/** The store tools' commands (createuser, changepassword, setactive): their options and arguments. */
import { boolean } from '../../options/index.ts';
import { storeCommand } from './command.ts';

export const CREATEUSER_COMMAND = storeCommand(
  'npm run createuser',
  'Add a user to the store. The password is prompted for twice with echo off on a terminal, or read as one line from stdin.',
  { usage: '<username>', min: 1, max: 1 },
  { inactive: boolean({ default: false, env: [], help: 'Create the user inactive (cannot log in until `npm run setactive -- <username> yes`).' }) },
);

export const CHANGEPASSWORD_COMMAND = storeCommand(
  'npm run changepassword',
  'Set a user\'s password and revoke every refresh token the user holds. The password is prompted for with echo off on a terminal, or read as one line from stdin.',
  { usage: '<username>', min: 1, max: 1 },
  {},
);

export const SETACTIVE_COMMAND = storeCommand(
  'npm run setactive',
  'Activate (yes) or deactivate (no) a user; an inactive user can no longer log in, refresh, or use a token it holds.',
  { usage: '<username> yes|no', min: 2, max: 2 },
  {},
);
