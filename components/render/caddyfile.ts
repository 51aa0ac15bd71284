// Renders a Caddyfile from a typed site list. Pure: no Pulumi, no I/O.
//
// Every value that lands in the file is validated against a whitelist first, so no input can
// open or close a block, start a comment, smuggle a newline or expand a `{$ENV}` placeholder.
import { RenderInvariantError } from "./invariant";
import { CADDY_HEADER_KEYWORDS, caddyValueProblem, EMAIL_RE, HEADER_NAME_RE, HEADER_VALUE_RE, parseUpstream } from "../../model/caddyValues";

/**
 * How a site gets its certificate: ACME (Let's Encrypt/ZeroSSL, optional account email), Caddy's
 * internal CA, given certificate and key files, or "off" (plain HTTP site).
 */
export type ProxyTls = { mode: "acme"; email?: string } | { mode: "internal" } | { mode: "certificate"; certFile: string; keyFile: string } | { mode: "off" }; // plain HTTP site (e.g. an IoT vault that devices reach over http)

/**
 * One path route of a site to an upstream; `stripPrefix` removes the path before proxying,
 * `websocket` flushes immediately (@default false for both).
 */
export interface ProxyRoute {
  /** "/" = catch-all; "/gitea" or "/gitea/" = prefix route (matches /gitea and /gitea/*). */
  path: string;
  /** "host:port", "[ipv6]:port", or "http(s)://host[:port]". */
  upstream: string;
  stripPrefix?: boolean;
  websocket?: boolean;
}

/** A basic-auth user with its bcrypt hash (`$2a$`/`$2b$`/`$2y$`, 60 characters), never a password. */
export interface BasicAuthUser {
  user: string;
  bcryptHash: string;
}

/**
 * One site block of the Caddyfile: its domains (wildcard `*.` allowed), routes, TLS, optional basic
 * auth, headers, preview import directory and listener port.
 */
export interface ProxySite {
  domains: string[];
  routes: ProxyRoute[];
  /** Applies to every route of the site, including imported preview routes. */
  basicAuth?: BasicAuthUser[];
  /** Response headers, e.g. { "X-Robots-Tag": "noindex, nofollow" }. */
  headers?: Record<string, string>;
  tls: ProxyTls;
  /** Adds `import <importDir>/*.caddy` inside the site (preview routes). */
  importDir?: string;
  /** Explicit listener port: site address becomes domain:port. */
  port?: number;
}

/**
 * The Caddyfile's global options block (https://caddyserver.com/docs/caddyfile/options): ACME email,
 * admin endpoint, http_port/https_port, auto_https, and the basic-auth directive's name.
 */
export interface CaddyGlobalOptions {
  email?: string;
  adminListen?: string;
  httpPort?: number;
  httpsPort?: number;
  /** `auto_https` global option; loopback tests use "off". */
  autoHttps?: "off" | "disable_redirects";
  /**
   * Caddy 2.8 renamed `basicauth` to `basic_auth` and keeps the old name as a deprecated alias;
   * Caddy < 2.8 (Debian bookworm ships 2.6) knows only `basicauth`. Default: "basicauth".
   */
  basicAuthDirective?: "basicauth" | "basic_auth";
}

/**
 * A Caddyfile renderer invariant failed (bad domain, path, upstream, header, user or hash); the
 * message names the site and value.
 */
export class CaddyfileError extends RenderInvariantError {
  constructor(message: string) {
    super(message);
    this.name = "CaddyfileError";
  }
}

/** Path prefix under which preview stacks mount their routes on the dev site. */
export const PREVIEW_PATH_PREFIX = "/preview";

const DNS_LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const DOMAIN_RE = new RegExp(`^(?:\\*\\.)?${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);
const PATH_SEGMENT_RE = /^[A-Za-z0-9._~!$&+,;=:@%-]+$/;
const USER_RE = /^[A-Za-z0-9._@+-]+$/;
const BCRYPT_RE = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;
const FILE_PATH_RE = /^(?:\/[A-Za-z0-9._-]+)+\/?$/;
const SLUG_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const show = (value: unknown): string => JSON.stringify(value);

function fail(message: string): never {
  throw new CaddyfileError(message);
}

function checkDomain(domain: unknown, where: string): string {
  if (typeof domain !== "string") fail(`${where}: domain ${show(domain)} is not a string`);
  const lower = domain.toLowerCase();
  if (lower.length > 253 || !DOMAIN_RE.test(lower)) {
    fail(`${where}: invalid domain ${show(domain)} (DNS name characters only, optional leading "*.")`);
  }
  return lower;
}

function checkPort(port: unknown, what: string): number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    fail(`${what} ${show(port)} is not a port number (1-65535)`);
  }
  return port;
}

/** "/" stays "/"; "/gitea/" becomes "/gitea". */
function normalizePath(path: unknown, where: string): string {
  if (typeof path !== "string") fail(`${where}: path ${show(path)} is not a string`);
  if (path === "/") return "/";
  const bad = () => fail(`${where}: invalid path ${show(path)} (must start with "/", URL-path characters only, no empty, "." or ".." segments)`);
  if (!path.startsWith("/")) bad();
  const trimmed = path.endsWith("/") ? path.slice(0, -1) : path;
  const segments = trimmed.slice(1).split("/");
  for (const segment of segments) {
    if (!PATH_SEGMENT_RE.test(segment) || segment === "." || segment === "..") bad();
  }
  return trimmed;
}

/** Returns the upstream as it goes into `reverse_proxy` (scheme lower-cased). */
function checkUpstream(upstream: unknown, where: string): string {
  const { value, problem } = parseUpstream(upstream);
  if (problem !== undefined) fail(`${where}: ${problem}`);
  return value!;
}

function checkFilePath(path: unknown, what: string): string {
  if (typeof path !== "string" || !FILE_PATH_RE.test(path) || path.split("/").some((s) => s === "." || s === "..")) {
    fail(`${what} ${show(path)} must be an absolute path of [A-Za-z0-9._-] segments`);
  }
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

function checkEmail(email: unknown, what: string): string {
  if (typeof email !== "string" || !EMAIL_RE.test(email)) fail(`${what} ${show(email)} is not a valid email address`);
  return email;
}

function quote(value: string): string {
  return `"${value.replace(/"/g, '\\"')}"`;
}

interface CheckedRoute {
  path: string;
  upstream: string;
  stripPrefix: boolean;
  websocket: boolean;
}

/**
 * `lb_try_duration` of every site route's `reverse_proxy`: how long Caddy keeps retrying a request
 * whose upstream failed, every `lb_try_interval` (default 250ms), before it answers 502
 * (https://caddyserver.com/docs/caddyfile/directives/reverse_proxy#lb_try_duration; default 0: no
 * retry). Caddy retries a request that could not connect whatever its method, and one whose
 * connection broke after it was sent only if it is a GET (caddyserver/caddy
 * modules/caddyhttp/reverseproxy/reverseproxy.go, LoadBalancing.tryAgain; `lb_retry_match` unset),
 * so a POST is never sent twice. Why: during a release the old version stops while the upstream's
 * name (`app`, Docker's DNS) still lists it; a GET that reached it as it closed its listener got a
 * 502 (the e2e release under load, tests/e2e/release-phase.e2e.test.ts); retried, the name is
 * resolved again and the new version answers. The cost: when the app is really down, a request
 * waits this long before its 502. 5 s covers a replaced container's cutover, not an outage.
 */
export const UPSTREAM_TRY_DURATION = "5s";

function reverseProxyLines(route: CheckedRoute, indent: string): string[] {
  return [
    `${indent}reverse_proxy ${route.upstream} {`,
    // Websockets work through plain reverse_proxy in Caddy 2; flush immediately so frames are not buffered.
    ...(route.websocket ? [`${indent}\tflush_interval -1`] : []),
    `${indent}\tlb_try_duration ${UPSTREAM_TRY_DURATION}`,
    `${indent}}`,
  ];
}

function renderSite(
  site: ProxySite,
  index: number,
  options: Required<Pick<CaddyGlobalOptions, "basicAuthDirective">>,
): {
  addresses: string[];
  text: string;
} {
  const where = `site #${index}`;
  if (!site || typeof site !== "object") fail(`${where} is not an object`);
  if (!Array.isArray(site.domains) || site.domains.length === 0) fail(`${where} has no domains`);
  const domains = site.domains.map((d) => checkDomain(d, where));
  const label = `site ${show(domains[0])}`;
  const dupDomain = domains.find((d, i) => domains.indexOf(d) !== i);
  if (dupDomain) fail(`${label}: domain ${show(dupDomain)} is listed twice`);
  const port = site.port === undefined ? undefined : checkPort(site.port, `${label}: port`);

  const tls = site.tls;
  if (!tls || typeof tls !== "object") fail(`${label}: tls is required`);
  const lines: string[] = [];
  switch (tls.mode) {
    case "acme":
      if (tls.email !== undefined) lines.push(`\ttls ${checkEmail(tls.email, `${label}: acme email`)}`);
      break;
    case "internal":
      lines.push("\ttls internal");
      break;
    case "certificate":
      lines.push(`\ttls ${checkFilePath(tls.certFile, `${label}: certFile`)} ${checkFilePath(tls.keyFile, `${label}: keyFile`)}`);
      break;
    case "off":
      break;
    default:
      fail(`${label}: unknown tls mode ${show((tls as { mode: unknown }).mode)}`);
  }
  const scheme = tls.mode === "off" ? "http://" : "";
  const addresses = [...domains].sort().map((d) => `${scheme}${d}${port !== undefined ? `:${port}` : ""}`);

  const headers = Object.entries(site.headers ?? {});
  if (headers.length > 0) {
    const seen = new Set<string>();
    headers.sort(([a], [b]) => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0));
    const headerLines: string[] = [];
    for (const [name, value] of headers) {
      if (!HEADER_NAME_RE.test(name)) fail(`${label}: invalid header name ${show(name)} (letters, digits and "-" only)`);
      if (CADDY_HEADER_KEYWORDS.includes(name.toLowerCase())) fail(`${label}: header name ${show(name)} is a keyword of Caddy's header block`);
      if (seen.has(name.toLowerCase())) fail(`${label}: header ${show(name)} is set twice`);
      seen.add(name.toLowerCase());
      if (typeof value !== "string" || !HEADER_VALUE_RE.test(value) || /[\\{}]/.test(value)) {
        fail(`${label}: invalid value ${show(value)} for header ${show(name)} (printable ASCII, no newlines, backslashes or braces)`);
      }
      headerLines.push(`\t\t${name} ${quote(value)}`);
    }
    // Set twice on purpose: the immediate set reaches error responses (basic auth's 401), which skip
    // deferred headers; the deferred set replaces a value the upstream sent itself.
    lines.push("\theader {", ...headerLines, "\t}");
    lines.push("\theader {", ...headerLines, "\t\tdefer", "\t}");
  }

  if (site.basicAuth !== undefined) {
    if (!Array.isArray(site.basicAuth) || site.basicAuth.length === 0) fail(`${label}: basicAuth must list at least one user`);
    const users = [...site.basicAuth].sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
    lines.push(`\t${options.basicAuthDirective} {`);
    users.forEach((u, i) => {
      if (typeof u.user !== "string" || !USER_RE.test(u.user)) {
        fail(`${label}: invalid basic auth user ${show(u.user)} (no whitespace; letters, digits and ._@+- only)`);
      }
      if (i > 0 && users[i - 1].user === u.user) fail(`${label}: basic auth user ${show(u.user)} is listed twice`);
      // The hash itself is not echoed: it is secret-adjacent and never belongs in error output.
      if (typeof u.bcryptHash !== "string" || !BCRYPT_RE.test(u.bcryptHash)) {
        fail(`${label}: basic auth user ${show(u.user)} needs a bcrypt hash ($2a$/$2b$/$2y$), not a plain password`);
      }
      lines.push(`\t\t${u.user} ${u.bcryptHash}`);
    });
    lines.push("\t}");
  }

  if (!Array.isArray(site.routes) || site.routes.length === 0) fail(`${label} has no routes`);
  const routes: CheckedRoute[] = site.routes.map((r, i) => {
    const routeWhere = `${label} route #${i}`;
    if (!r || typeof r !== "object") fail(`${routeWhere} is not an object`);
    return {
      path: normalizePath(r.path, routeWhere),
      upstream: checkUpstream(r.upstream, routeWhere),
      stripPrefix: r.stripPrefix === true,
      websocket: r.websocket === true,
    };
  });
  const dupPath = routes.find((r, i) => routes.findIndex((o) => o.path === r.path) !== i);
  if (dupPath) fail(`${label}: path ${show(dupPath.path)} is routed twice`);

  if (site.importDir !== undefined) {
    const dir = checkFilePath(site.importDir, `${label}: importDir`);
    const clash = routes.find((r) => r.path === PREVIEW_PATH_PREFIX || r.path.startsWith(`${PREVIEW_PATH_PREFIX}/`));
    if (clash) fail(`${label}: route ${show(clash.path)} overlaps the preview routes under ${PREVIEW_PATH_PREFIX}/ of importDir`);
    lines.push(`\timport ${dir}/*.caddy`);
    // A removed (or never deployed) preview answers 404 instead of falling through to the catch-all app.
    lines.push(`\thandle ${PREVIEW_PATH_PREFIX}/* {`, '\t\trespond "Not Found" 404', "\t}");
  }

  // Caddy orders `handle` blocks by specificity and runs only the first match; named matchers with two
  // paths compare equal there, so source order (longest path first) decides between nested prefixes.
  const specific = routes.filter((r) => r.path !== "/").sort((a, b) => b.path.length - a.path.length || (a.path < b.path ? -1 : 1));
  specific.forEach((route, i) => {
    const matcher = `@route${i}`;
    lines.push(`\t${matcher} path ${route.path} ${route.path}/*`);
    lines.push(`\thandle ${matcher} {`);
    if (route.stripPrefix) lines.push(`\t\turi strip_prefix ${route.path}`);
    lines.push(...reverseProxyLines(route, "\t\t"), "\t}");
  });
  const catchAll = routes.find((r) => r.path === "/");
  lines.push("\thandle {");
  if (catchAll) lines.push(...reverseProxyLines(catchAll, "\t\t"));
  else lines.push('\t\trespond "Not Found" 404');
  lines.push("\t}");

  return { addresses, text: `${addresses.join(", ")} {\n${lines.join("\n")}\n}\n` };
}

function renderGlobal(global: CaddyGlobalOptions | undefined): string {
  if (!global) return "";
  const lines: string[] = [];
  if (global.adminListen !== undefined) {
    const admin = global.adminListen;
    const ok = admin === "off" || (typeof admin === "string" && /^(?:[A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/.test(admin) && !admin.startsWith("-"));
    if (!ok) fail(`global adminListen ${show(admin)} must be "off" or host:port`);
    lines.push(`\tadmin ${admin}`);
  }
  if (global.email !== undefined) lines.push(`\temail ${checkEmail(global.email, "global email")}`);
  if (global.httpPort !== undefined) lines.push(`\thttp_port ${checkPort(global.httpPort, "global httpPort")}`);
  if (global.httpsPort !== undefined) lines.push(`\thttps_port ${checkPort(global.httpsPort, "global httpsPort")}`);
  if (global.autoHttps !== undefined) {
    if (global.autoHttps !== "off" && global.autoHttps !== "disable_redirects") {
      fail(`global autoHttps ${show(global.autoHttps)} must be "off" or "disable_redirects"`);
    }
    lines.push(`\tauto_https ${global.autoHttps}`);
  }
  return lines.length > 0 ? `{\n${lines.join("\n")}\n}\n` : "";
}

// The checks of single values (model/caddyValues.ts): config validation (model/validate.ts) reports
// a stack file's values with them, and this renderer keeps them as its invariants.
export { caddyValueProblem, CADDY_HEADER_KEYWORDS };

/**
 * The Caddyfile text of `sites` with `global` options. Pure; checked by the real `caddy validate`
 * in tests. Basic auth, when set, covers every route of a site (including imported previews).
 * @throws CaddyfileError on any value Caddy would refuse or misread.
 */
export function renderCaddyfile(sites: ProxySite[], global?: CaddyGlobalOptions): string {
  if (!Array.isArray(sites)) fail("sites must be an array");
  const directive = global?.basicAuthDirective ?? "basicauth";
  if (directive !== "basicauth" && directive !== "basic_auth") fail(`global basicAuthDirective ${show(directive)} is unknown`);
  const rendered = sites.map((site, i) => renderSite(site, i, { basicAuthDirective: directive }));

  const owner = new Map<string, number>();
  rendered.forEach((site, i) => {
    for (const address of site.addresses) {
      // http://a.com and a.com both claim a.com on the default ports; key on host + explicit port.
      const key = address.replace(/^http:\/\//, "");
      const previous = owner.get(key);
      if (previous !== undefined) fail(`duplicate domain ${show(key)} in site #${previous} and site #${i}`);
      owner.set(key, i);
    }
  });

  const body = [...rendered].sort((a, b) => (a.addresses[0] < b.addresses[0] ? -1 : a.addresses[0] > b.addresses[0] ? 1 : 0)).map((s) => s.text);
  const head = renderGlobal(global);
  return [head, ...body].filter((part) => part !== "").join("\n");
}

/**
 * A preview's route snippet, imported into dev's site: `/preview/<slug>` redirects (308) to
 * `/preview/<slug>/`, and everything under that is proxied to `upstream` with the prefix stripped.
 * @throws CaddyfileError when `slug` is not a DNS label or `upstream` is not a valid upstream.
 */
export function renderPreviewRoute(args: { slug: string; upstream: string }): string {
  const { slug } = args;
  if (typeof slug !== "string" || !SLUG_RE.test(slug)) {
    fail(`invalid preview slug ${show(slug)} (lowercase DNS label: a-z, 0-9, "-", at most 63 characters)`);
  }
  const upstream = checkUpstream(args.upstream, `preview ${show(slug)}`);
  const prefix = `${PREVIEW_PATH_PREFIX}/${slug}`;
  // Imported inside the dev site block, so the site's basic auth and headers cover these routes too.
  // The same upstream retry as every site route (UPSTREAM_TRY_DURATION): a preview's app replaced by a new push answers, not 502.
  return [
    `# preview ${slug}`,
    `handle ${prefix} {`,
    `\tredir * ${prefix}/ 308`,
    "}",
    `handle_path ${prefix}/* {`,
    `\treverse_proxy ${upstream} {`,
    `\t\tlb_try_duration ${UPSTREAM_TRY_DURATION}`,
    "\t}",
    "}",
    "",
  ].join("\n");
}
