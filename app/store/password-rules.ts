/**
 * What the CLIs accept as a new password. Login trims surrounding whitespace from the password
 * field (DRF's CharField does, and clients of simplejwt rely on its behaviour), so a password
 * that starts or ends with whitespace could never be used: it is refused here instead.
 */

/** Shortest password accepted (Django's MinimumLengthValidator default). */
export const PASSWORD_MIN_LENGTH = 8;
/** Longest password accepted, here and by the login view (a clear 400 rather than hashing a megabyte). */
export const PASSWORD_MAX_LENGTH = 4096;

/** Why `password` is not acceptable for `username`, or null when it is. */
export function passwordProblem(password: string, username: string): string | null {
  if (password.length < PASSWORD_MIN_LENGTH) return `This password is too short. It must contain at least ${PASSWORD_MIN_LENGTH} characters.`;
  if (password.length > PASSWORD_MAX_LENGTH) return `This password is too long. It may contain at most ${PASSWORD_MAX_LENGTH} characters.`;
  if (password.trim() !== password) return 'This password starts or ends with whitespace, which login strips: it could never be used.';
  if (/^\d+$/.test(password)) return 'This password is entirely numeric.';
  if (password.toLowerCase() === username.toLowerCase()) return 'The password is the same as the username.';
  return null;
}
