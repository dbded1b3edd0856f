// limits.js — account input limits, the same as the server's (user.go:
// UsernameMinLen…PasswordMaxLen); a Go test keeps the two in step. Usernames
// and passwords are measured in bytes (UTF-8), as the server does.

export const USERNAME_MIN = 3;
export const USERNAME_MAX = 32;
export const DISPLAY_NAME_MAX = 64;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

const bytes = (s) => new TextEncoder().encode(s).length;

// usernameProblem returns why the server would refuse username s, or ''.
export function usernameProblem(s) {
  if (!s) return 'Enter a username.';
  if (bytes(s) < USERNAME_MIN) return `Username must be at least ${USERNAME_MIN} characters.`;
  if (bytes(s) > USERNAME_MAX) return `Username must be at most ${USERNAME_MAX} characters.`;
  if (!/^[A-Za-z0-9_.-]+$/.test(s)) return "Username may contain only letters a-z, digits, '_', '.' and '-'.";
  if (!/^[A-Za-z0-9].*[A-Za-z0-9]$/.test(s)) return 'Username must start and end with a letter or digit.';
  return '';
}

// passwordProblem returns why the server would refuse new password p, or ''.
export function passwordProblem(p) {
  if (!p) return 'Enter a password.';
  if (bytes(p) < PASSWORD_MIN) return `Password must be at least ${PASSWORD_MIN} characters.`;
  if (bytes(p) > PASSWORD_MAX) return `Password must be at most ${PASSWORD_MAX} bytes.`;
  return '';
}
