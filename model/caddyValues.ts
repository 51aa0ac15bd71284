// Caddyfile value rules (https://caddyserver.com/docs/caddyfile/concepts), one definition each:
// config validation (model/validate.ts) reports a stack file's values with them, and the Caddyfile
// renderer (components/render/caddyfile.ts) keeps them as its invariants. Pure: node's `net` only.
import { isIPv6 } from "net";

const UPSTREAM_HOST_RE = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
/** An HTTP header field name Caddy accepts as is in a `header` directive: letters, digits and `-`. */
export const HEADER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
/**
 * Words the `header` directive's block reads as subdirectives, not field names: `defer` (turns the
 * block into a deferred one, so error responses such as basic auth's 401 lose the headers) and
 * `match` (a response matcher). Caddy source: modules/caddyhttp/headers/caddyfile.go.
 */
export const CADDY_HEADER_KEYWORDS = ["defer", "match"];
// Printable ASCII except `"` `\` `{` `}` (quoting, escaping, placeholders); `"` is escaped instead.
/** A header value safe to write quoted into a Caddyfile: printable ASCII (`"` is escaped when written). */
export const HEADER_VALUE_RE = /^[\x20-\x7e]*$/;
/** An email address as the ACME account email (`proxy.acmeEmail`) must look: `local@domain.tld`. */
export const EMAIL_RE = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$/;

const show = (value: unknown): string => JSON.stringify(value);

/**
 * A reverse_proxy upstream `host:port`, `[ipv6]:port` or `http(s)://host[:port]`, normalised
 * (scheme lower-cased), or the problem with it (`invalid upstream "x" (why)`).
 */
export function parseUpstream(upstream: unknown): { value: string; problem?: undefined } | { value?: undefined; problem: string } {
  if (typeof upstream !== "string") return { problem: `upstream ${show(upstream)} is not a string` };
  const bad = (why: string) => ({ problem: `invalid upstream ${show(upstream)} (${why})` });
  let rest = upstream;
  let scheme = "";
  const schemeMatch = /^(https?):\/\//i.exec(rest);
  if (schemeMatch) {
    scheme = schemeMatch[1].toLowerCase();
    rest = rest.slice(schemeMatch[0].length);
  }
  let host: string;
  let port: string | undefined;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) return bad("unterminated IPv6 bracket");
    host = rest.slice(1, close);
    if (!isIPv6(host)) return bad(`${show(host)} is not an IPv6 address`);
    const after = rest.slice(close + 1);
    if (after !== "") {
      if (!after.startsWith(":")) return bad('expected ":port" after "]"');
      port = after.slice(1);
    }
    host = `[${host}]`;
  } else {
    const parts = rest.split(":");
    if (parts.length > 2) return bad('IPv6 addresses must be bracketed, e.g. "[::1]:8080"');
    host = parts[0];
    port = parts[1];
    if (!UPSTREAM_HOST_RE.test(host) || host.includes("..")) return bad("expected host:port, [ipv6]:port or http(s)://host:port");
  }
  if (port === undefined) {
    if (!scheme) return bad("a port is required unless a scheme is given");
  } else if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    return bad(`${show(port)} is not a port number`);
  }
  return { value: `${scheme ? `${scheme}://` : ""}${host}${port !== undefined ? `:${port}` : ""}` };
}

/** The problem with a value, one line (no prefix), or undefined when Caddy accepts it. */
export const caddyValueProblem = {
  upstream: (value: string) => parseUpstream(value).problem,
  email: (value: string) => (typeof value !== "string" || !EMAIL_RE.test(value) ? `email ${show(value)} is not a valid email address` : undefined),
  headerName: (name: string) =>
    !HEADER_NAME_RE.test(name)
      ? 'expected a header name of letters, digits and "-"'
      : CADDY_HEADER_KEYWORDS.includes(name.toLowerCase())
        ? `"${name}" is a keyword of Caddy's header block (${CADDY_HEADER_KEYWORDS.join(", ")}), not a header name`
        : undefined,
  headerValue: (value: string) =>
    typeof value !== "string" || !HEADER_VALUE_RE.test(value) || /[\\{}]/.test(value) ? "expected printable ASCII without newlines, backslashes or braces" : undefined,
};
