// Rule 1: every physical name carries the stack's environment token, and no other stack's.
import { ResourceValidationPolicy } from "@pulumi/policy";
import type { Env } from "../model/schema";
import { slugToIdentifier } from "../model/slug";
import { nameSegments, physicalName, Props, T } from "./lib/resources";
import { ENV_TOKENS, stackInfo } from "./lib/stackContext";

/** Resource types whose name is a physical name, with what to call them in messages. */
const NAMED: Record<string, string> = {
  [T.container]: "container",
  [T.service]: "service",
  [T.network]: "network",
  [T.volume]: "volume",
  [T.secret]: "secret",
  [T.pgDatabase]: "database",
  [T.pgRole]: "role",
  [T.doVolume]: "volume",
  [T.hcloudVolume]: "volume",
};

const DNS: Record<string, { zoneKey: string }> = {
  [T.doDnsRecord]: { zoneKey: "domain" },
  [T.hcloudZoneRecord]: { zoneKey: "zone" },
  [T.hcloudZoneRrset]: { zoneKey: "zone" },
};

/** The full DNS name of a record: name "@" or "" is the zone apex. */
function recordName(props: Props, zoneKey: string): string {
  const name = typeof props.name === "string" ? props.name : "";
  const zone = typeof props[zoneKey] === "string" ? props[zoneKey] : "";
  if (name === "@" || name === "") return zone;
  if (name.endsWith(".")) return name.slice(0, -1);
  return zone ? `${name}.${zone}` : name;
}

/** A physical name to check against the env token of the stack it belongs to (see {@link nameProblem}). */
export interface NameCheck {
  name: string;
  env: Env;
  /** Branch slug of a preview stack: preview names carry it too. */
  slug?: string;
  /** The app name, stripped before looking for env tokens (an app may be called "devtools-x"). */
  appName?: string;
  /** DNS names of prod carry no token (prod owns the bare domain). */
  dns?: boolean;
  /** Separator of this kind of name: "-" for Docker, "_" for Postgres. Guessed from the name when absent. */
  separator?: "-" | "_";
}

/** What is wrong with a physical name, with the name to use instead; undefined when fine. */
export function nameProblem(check: NameCheck): { kind: "foreign" | "missing"; suggestion: string } | undefined {
  const { name, env, slug } = check;
  const separator = check.separator ?? (check.dns ? "." : name.includes("_") && !name.includes("-") ? "_" : "-");
  const ownToken = env === "preview" && slug ? ["preview", ...nameSegments(slug)] : [env];
  const ownText = ownToken.join(separator === "." ? "-" : separator);

  // Strip the app name prefix and the preview slug: tokens inside them are not env tokens.
  const lower = name.toLowerCase();
  let rest = lower;
  const app = check.appName?.toLowerCase();
  if (app) {
    for (const form of [app, app.replace(/-/g, "_")]) {
      if (rest.startsWith(form) && /^($|[-_.])/.test(rest.slice(form.length))) {
        rest = rest.slice(form.length);
        break;
      }
    }
  }
  const slugForms = slug ? [slug.toLowerCase(), slugToIdentifier(slug).toLowerCase()] : [];
  for (const form of slugForms) rest = rest.replace(new RegExp(`(^|[-_.])${escape(form)}(?=$|[-_.])`, "g"), "$1");
  const segments = nameSegments(rest);

  const foreign = ENV_TOKENS.filter((t) => t !== env && segments.includes(t));
  if (foreign.length) {
    const pattern = new RegExp(`(^|[-_.])(${foreign.join("|")})(?=$|[-_.])`, "i");
    // Prod owns the bare domain: its records drop the other token instead of swapping it.
    if (check.dns && env === "prod") return { kind: "foreign", suggestion: name.replace(new RegExp(`(^|[-_.])(${foreign.join("|")})([-_.]|$)`, "i"), "$1").replace(/^[-_.]+/, "") };
    return { kind: "foreign", suggestion: name.replace(pattern, (_m, sep: string) => `${sep}${ownText}`) };
  }
  if (check.dns && env === "prod") return undefined;
  const hasSlug = slugForms.length === 0 || slugForms.some((form) => new RegExp(`(^|[-_.])${escape(form)}($|[-_.])`).test(lower));
  if (segments.includes(env) && (env !== "preview" || hasSlug)) return undefined;
  if (segments.includes(env)) {
    // A preview name with "preview" but not its slug: add the slug after the token.
    return { kind: "missing", suggestion: name.replace(/(^|[-_.])preview(?=$|[-_.])/i, (_m, sep: string) => `${sep}${ownText}`) };
  }
  if (check.dns) return { kind: "missing", suggestion: `${ownText}.${name}` };
  const sep = separator === "." ? "-" : separator;
  if (app && lower.startsWith(app) && /^[-_]/.test(name.slice(app.length))) {
    return { kind: "missing", suggestion: `${name.slice(0, app.length)}${name[app.length]}${ownText}${name.slice(app.length)}` };
  }
  const first = /^([^-_.]+)([-_.])(.*)$/.exec(name);
  return { kind: "missing", suggestion: first ? `${first[1]}${first[2]}${ownText}${first[2]}${first[3]}` : `${name}${sep}${ownText}` };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Rule 1 (resource policy, mandatory): every physical name (container, service, network, volume,
 * secret, database, role, DNS record) carries its stack's env token (`<app>-<env>-<part>`, `<app>_<env>`;
 * a preview's token includes its branch slug; prod DNS names carry none) and no other env's token.
 */
export const envTokenInNames: ResourceValidationPolicy = {
  name: "env-token-in-names",
  description: "Every physical name (container, service, network, volume, secret, database, role, DNS record) carries the stack's environment token.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    const kind = NAMED[args.type];
    const dns = DNS[args.type];
    if (!kind && !dns) return;
    const info = stackInfo(args.urn);
    if (!info?.env) return;
    const name = dns ? recordName(args.props, dns.zoneKey) : physicalName(args.props, args.name);
    const separator = args.type === T.pgDatabase || args.type === T.pgRole ? "_" : undefined;
    const problem = nameProblem({ name, env: info.env, slug: info.slug, appName: info.loaded.config?.app?.name, dns: !!dns, separator });
    if (!problem) return;
    const what = dns ? "DNS record" : kind;
    const envLabel = info.env === "preview" ? `preview (${info.stack})` : info.env;
    if (problem.kind === "foreign") {
      reportViolation(`${envLabel} ${what} "${name}" carries another stack's env token: name it ${problem.suggestion}`);
    } else {
      reportViolation(`${envLabel} ${what} "${name}" does not carry the env token "${info.env}": name it ${problem.suggestion}`);
    }
  },
};
