// Rules 3 and 11, read from the Caddyfile the proxy is given: non-prod sites ask for basic auth on
// every route and send X-Robots-Tag: noindex; every site is served over TLS unless allowed.
import { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { Caddyfile, isRedirectOnly, parseCaddyfile, plainHttpAddresses, requiresAuthEverywhere, sendsNoindexEverywhere } from "./lib/caddyfile";
import { T, uploads } from "./lib/resources";
import { stackInfo } from "./lib/stackContext";
import { CADDY } from "../model/images";

/**
 * Where the proxy container's Caddyfile is uploaded: the path the official Caddy image reads by default
 * (https://hub.docker.com/_/caddy, "Configuration": /etc/caddy/Caddyfile).
 */
export const CADDYFILE_PATH = CADDY.paths.caddyfile;

/** The Caddyfile text a resource carries: a container's upload, or a swarm service config of the proxy. */
export function caddyfileOf(args: Pick<ResourceValidationArgs, "type" | "props">): string | undefined {
  if (args.type === T.container) return uploads(args.props).find((u) => u.file === CADDYFILE_PATH)?.content;
  if (args.type === T.serviceConfig) {
    const name = typeof args.props.name === "string" ? args.props.name : "";
    const data = typeof args.props.data === "string" ? args.props.data : undefined;
    if (!data || !/caddy/i.test(name)) return undefined;
    const text = Buffer.from(data, "base64").toString("utf8");
    // The proxy's other configs are certificates and keys: only a text with site blocks is a Caddyfile.
    return /^\s*-----BEGIN /.test(text) ? undefined : text;
  }
  return undefined;
}

function parsed(text: string): { file?: Caddyfile; error?: string } {
  try {
    return { file: parseCaddyfile(text) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/**
 * Rule 3 (resource policy, mandatory): every site of a dev or preview Caddyfile asks for basic auth and
 * sends `X-Robots-Tag: noindex` on every route (a redirect-only site is exempt); an unreadable
 * Caddyfile is a violation.
 */
export const nonProdSitesPrivate: ResourceValidationPolicy = {
  name: "nonprod-sites-private",
  description: "Non-prod sites ask for basic auth on every route and send X-Robots-Tag: noindex.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    const text = caddyfileOf(args);
    if (text === undefined) return;
    const info = stackInfo(args.urn);
    if (!info?.env || info.env === "prod") return;
    const { file, error } = parsed(text);
    if (!file) {
      reportViolation(`${info.env} Caddyfile cannot be read (${error}): the policy cannot confirm its sites are private`);
      return;
    }
    for (const site of file.sites) {
      if (isRedirectOnly(site)) continue;
      const where = `${info.env} site ${site.addresses.join(", ")}`;
      if (!requiresAuthEverywhere(site)) {
        reportViolation(
          `${where} serves routes without basic auth: put basic_auth at the site level (twinstack:proxy.basicAuth lists the users) so every route asks for a password`,
        );
      }
      if (!sendsNoindexEverywhere(site)) {
        reportViolation(`${where} does not send X-Robots-Tag: noindex on every route: add header X-Robots-Tag "noindex, nofollow" at the site level`);
      }
    }
  },
};

/**
 * Policy config of {@link sitesUseTls}: `allowedPlainHttpSites` are host names or `*.domain`
 * wildcards (one label), with or without `http://`. @default []
 */
export interface TlsConfig {
  allowedPlainHttpSites: string[];
}

function allowed(host: string, patterns: string[]): boolean {
  return patterns.some((p) => {
    const pattern = p.toLowerCase().replace(/^https?:\/\//, "");
    if (pattern.startsWith("*.")) {
      const suffix = pattern.slice(1);
      return host.endsWith(suffix) && host.length > suffix.length && !host.slice(0, host.length - suffix.length).includes(".");
    }
    return host === pattern;
  });
}

/**
 * Rule 11 (resource policy, advisory): every Caddyfile site is served over TLS unless its host is in
 * `allowedPlainHttpSites`.
 */
export const sitesUseTls: ResourceValidationPolicy = {
  name: "sites-use-tls",
  description: "Every site is served over TLS unless explicitly allowed (allowedPlainHttpSites).",
  enforcementLevel: "advisory",
  configSchema: {
    properties: {
      allowedPlainHttpSites: {
        type: "array",
        items: { type: "string" },
        default: [],
        description: "Domains allowed to be served over plain HTTP, e.g. an IoT vault whose devices cannot do TLS.",
      },
    },
  },
  validateResource: (args, reportViolation) => {
    const text = caddyfileOf(args);
    if (text === undefined) return;
    const { file } = parsed(text);
    if (!file) return;
    const patterns = args.getConfig<Partial<TlsConfig>>().allowedPlainHttpSites ?? [];
    for (const site of file.sites) {
      if (isRedirectOnly(site)) continue;
      for (const address of plainHttpAddresses(file, site)) {
        if (address.host && allowed(address.host, patterns)) continue;
        reportViolation(
          `site ${address.raw} is served over plain HTTP: serve it over TLS` +
            (address.host ? `, or allow it in the policy config (sites-use-tls.allowedPlainHttpSites: ["${address.host}"])` : ""),
        );
      }
    }
  },
};
