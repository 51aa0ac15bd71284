// Value rules of what the program writes onto hosts (cloud-init, the runner's registration,
// keepalived), one definition each: config validation (model/validate.ts) reports a stack file's
// values with them, and the renderers (components/render/cloudInit.ts, keepalived.ts) keep them as
// their invariants.

/** A runner label: printable ASCII except space and comma (commas separate labels on the runner's command line). */
export const LABEL_RE = /^[\x21-\x2b\x2d-\x7e]+$/;
/** A release version `x.y.z[-pre][+build]` (semver). */
export const VERSION_RE = /^[0-9]+\.[0-9]+\.[0-9]+(?:[-+][0-9A-Za-z.-]+)?$/;
/** One single-line OpenSSH public key (https://man.openbsd.org/sshd.8#AUTHORIZED_KEYS_FILE_FORMAT). */
export const SSH_KEY_RE = /^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/=]+( [^\r\n]*)?$/;
/** A Linux network interface name: Linux IFNAMSIZ is 16 including the NUL. */
export const IFACE_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
