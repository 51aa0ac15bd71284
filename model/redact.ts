// Masking of credentials in values that config messages show.

/**
 * `text` with the credentials a URL may carry masked: the password of `scheme://user:password@`
 * and the values of `password`, `pass`, `pwd`, `token`, `secret` and `key` query parameters become
 * `***`. Applied to every value a config message shows (a malformed Redis URL is still a URL with a
 * password in it).
 */
export function maskCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:@/\s"\\]*):[^@/\s"\\]*@/gi, "$1:***@").replace(/([?&](?:password|pass|pwd|token|secret|key)=)[^&#\s"\\]*/gi, "$1***");
}
