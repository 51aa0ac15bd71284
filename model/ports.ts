// Ports the program chooses itself (not the user), shared by the program and the claims the policy
// pack compares, so the two cannot disagree. Pure: no Pulumi imports.

/**
 * keepalived tracks the env's proxy on 127.0.0.1:<base + VRRP router id> of every VIP node (plain
 * HTTP to Caddy's port 80): distinct per env, since router ids are distinct on one LAN.
 */
export const KEEPALIVED_HEALTH_PORT_BASE = 20000;
