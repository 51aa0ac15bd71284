// A small Caddyfile reader for the policies: splits a Caddyfile into the global options block,
// snippets and site blocks (brace-depth aware, quotes and comments respected), and answers what
// the isolation rules ask of a site: is every route behind basic auth, is noindex sent, is it TLS.

export interface Directive {
  tokens: string[];
  block?: Directive[];
  line: number;
}

export interface Site {
  addresses: string[];
  body: Directive[];
  line: number;
}

export interface Caddyfile {
  global?: Directive[];
  snippets: Record<string, Directive[]>;
  sites: Site[];
}

/** One line's tokens; `#` starts a comment only at the beginning of a token. */
function tokenizeLine(line: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < line.length) {
    const ch = line[i];
    if (ch === " " || ch === "\t" || ch === "\r") {
      i++;
      continue;
    }
    if (ch === "#") break;
    let token = "";
    while (i < line.length && line[i] !== " " && line[i] !== "\t" && line[i] !== "\r") {
      const c = line[i];
      if (c === '"' || c === "`") {
        const close = c;
        i++;
        while (i < line.length && line[i] !== close) {
          if (close === '"' && line[i] === "\\" && i + 1 < line.length) i++;
          token += line[i++];
        }
        i++;
      } else {
        token += c;
        i++;
      }
    }
    tokens.push(token);
  }
  return tokens;
}

interface Line {
  tokens: string[];
  number: number;
}

function lines(text: string): Line[] {
  const out: Line[] = [];
  const raw = text.split("\n");
  for (let n = 0; n < raw.length; n++) {
    let tokens = tokenizeLine(raw[n]);
    if (tokens.length === 0) continue;
    // Site addresses may continue on the next line after a trailing comma.
    while (tokens[tokens.length - 1].endsWith(",") && n + 1 < raw.length) tokens = [...tokens, ...tokenizeLine(raw[++n])];
    out.push({ tokens, number: n + 1 });
  }
  return out;
}

export class CaddyfileParseError extends Error {}

/** Builds the directive tree: a line ending in `{` opens a block, a lone `}` closes it. */
function tree(all: Line[]): Directive[] {
  const root: Directive[] = [];
  const stack: Directive[][] = [root];
  for (const { tokens, number } of all) {
    if (tokens.length === 1 && tokens[0] === "}") {
      if (stack.length === 1) throw new CaddyfileParseError(`line ${number}: "}" without an open block`);
      stack.pop();
      continue;
    }
    const opens = tokens[tokens.length - 1] === "{";
    const directive: Directive = { tokens: opens ? tokens.slice(0, -1) : tokens, line: number };
    // `respond "x" { ... }`-style one-line blocks closing on the same line: `foo { bar }`.
    const closesInline = !opens && tokens.includes("{") && tokens[tokens.length - 1] === "}";
    if (closesInline) {
      const open = tokens.indexOf("{");
      directive.tokens = tokens.slice(0, open);
      const inner = tokens.slice(open + 1, -1);
      directive.block = inner.length ? [{ tokens: inner, line: number }] : [];
    }
    stack[stack.length - 1].push(directive);
    if (opens) {
      directive.block = [];
      stack.push(directive.block);
    }
  }
  if (stack.length !== 1) throw new CaddyfileParseError(`unclosed block (${stack.length - 1} "{" without "}")`);
  return root;
}

function expandImports(body: Directive[], snippets: Record<string, Directive[]>, depth = 0): Directive[] {
  if (depth > 10) return body;
  const out: Directive[] = [];
  for (const d of body) {
    if (d.tokens[0] === "import" && d.tokens[1] && snippets[d.tokens[1]]) {
      out.push(...expandImports(snippets[d.tokens[1]], snippets, depth + 1));
    } else {
      out.push(d.block ? { ...d, block: expandImports(d.block, snippets, depth + 1) } : d);
    }
  }
  return out;
}

export function parseCaddyfile(text: string): Caddyfile {
  const top = tree(lines(text));
  const result: Caddyfile = { snippets: {}, sites: [] };
  top.forEach((d, i) => {
    if (!d.block) {
      // A top-level line outside any block: the one-site form without braces is not used here.
      return;
    }
    if (d.tokens.length === 0) {
      if (i === 0) result.global = d.block;
      return;
    }
    const snippet = /^\((.+)\)$/.exec(d.tokens[0]);
    if (snippet && d.tokens.length === 1) {
      result.snippets[snippet[1]] = d.block;
      return;
    }
    const addresses = d.tokens
      .join(" ")
      .split(/[\s,]+/)
      .filter((a) => a !== "");
    result.sites.push({ addresses, body: d.block, line: d.line });
  });
  result.sites = result.sites.map((s) => ({ ...s, body: expandImports(s.body, result.snippets) }));
  return result;
}

// ---- what the rules ask ----

const ROUTE_BLOCKS = new Set(["handle", "handle_path", "route"]);
const TERMINAL = new Set(["reverse_proxy", "file_server", "php_fastcgi", "respond", "templates", "static_response", "root"]);
const AUTH = new Set(["basicauth", "basic_auth", "forward_auth"]);

/** Is a directive's first argument a request matcher (so it applies to some requests only)? */
function hasMatcher(d: Directive): boolean {
  const arg = d.tokens[1];
  return arg !== undefined && arg !== "*" && (arg.startsWith("@") || arg.startsWith("/"));
}

/** Does this directive list apply `test` to every request, directly or in every route it has? */
function coversAll(body: Directive[], test: (d: Directive) => boolean): boolean {
  if (body.some((d) => test(d) && !hasMatcher(d))) return true;
  const routes = body.filter((d) => ROUTE_BLOCKS.has(d.tokens[0]) && d.block);
  const bare = body.some((d) => TERMINAL.has(d.tokens[0]) || (d.tokens[0] === "import" && d.tokens.length > 1));
  if (routes.length === 0 || bare) return false;
  return routes.every((r) => coversAll(r.block ?? [], test));
}

const isAuth = (d: Directive) => AUTH.has(d.tokens[0]) && (d.tokens[0] === "forward_auth" || (d.block ?? []).length > 0);

function isNoindex(d: Directive): boolean {
  if (d.tokens[0] !== "header") return false;
  const args = hasMatcher(d) ? d.tokens.slice(2) : d.tokens.slice(1);
  const robots = (field: string | undefined) => !!field && /^[+]?x-robots-tag$/i.test(field);
  if (robots(args[0]) && args.slice(1).join(" ").toLowerCase().includes("noindex")) return true;
  return (d.block ?? []).some((line) => robots(line.tokens[0]) && line.tokens.slice(1).join(" ").toLowerCase().includes("noindex"));
}

/** A site that only redirects serves no content of its own (e.g. http -> https, www -> apex). */
export function isRedirectOnly(site: Site): boolean {
  const meaningful = site.body.filter((d) => !["tls", "log", "encode", "header"].includes(d.tokens[0]));
  return meaningful.length > 0 && meaningful.every((d) => d.tokens[0] === "redir");
}

export function requiresAuthEverywhere(site: Site): boolean {
  return coversAll(site.body, isAuth);
}

export function sendsNoindexEverywhere(site: Site): boolean {
  return coversAll(site.body, isNoindex);
}

export interface AddressInfo {
  raw: string;
  host: string;
  scheme?: string;
  port?: string;
}

export function parseAddress(raw: string): AddressInfo {
  let rest = raw;
  let scheme: string | undefined;
  const m = /^([a-z]+):\/\//i.exec(rest);
  if (m) {
    scheme = m[1].toLowerCase();
    rest = rest.slice(m[0].length);
  }
  rest = rest.split("/")[0];
  let host = rest;
  let port: string | undefined;
  const portMatch = /^(.*):(\d+)$/.exec(rest);
  if (portMatch) {
    host = portMatch[1];
    port = portMatch[2];
  }
  return { raw, host: host.toLowerCase(), scheme, port };
}

/** Addresses of a site Caddy serves over plain HTTP. */
export function plainHttpAddresses(caddyfile: Caddyfile, site: Site): AddressInfo[] {
  const globalTokens = (name: string) => caddyfile.global?.find((d) => d.tokens[0] === name)?.tokens.slice(1) ?? [];
  const autoHttpsOff = globalTokens("auto_https")[0] === "off";
  const httpPort = globalTokens("http_port")[0] ?? "80";
  const hasTls = site.body.some((d) => d.tokens[0] === "tls");
  return site.addresses.map(parseAddress).filter((a) => {
    if (a.scheme === "http") return true;
    if (a.scheme === "https") return false;
    if (a.port === httpPort || a.port === "80") return true;
    if (hasTls) return false;
    // No host name: Caddy cannot manage a certificate for it; auto_https off: nothing is managed.
    return a.host === "" || autoHttpsOff;
  });
}
