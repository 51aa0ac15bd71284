// The env's reverse proxy (Caddy, components/reverseProxy.ts): the main domains' path routes (app,
// forge, browser, websocket), further sites, the vault's site, basic auth outside prod, noindex on
// non-prod, TLS by mode; per-node standalone proxies where a Swarm service cannot bind (proxyNodeNames).
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ProxyRoute, ProxyTls } from "../render/caddyfile";
import { ReverseProxy, ReverseProxySiteArgs } from "../reverseProxy";
import type { InstanceStackArgs } from "../instanceStack";
import { KEEPALIVED_HEALTH_PORT_BASE } from "../../model/ports";
import { InstanceContext } from "./context";
import { FORGE_HTTP_PORT, VAULT_PORT } from "../../model/ports";

const NOINDEX = "noindex, nofollow";

/**
 * The hosts that run their own proxy container, or undefined for one proxy workload. In a Swarm a
 * proxy bound to one address (the keepalived VIP, or `proxy.bindAddress`) or serving a loopback
 * health port cannot be a service (service ports bind every address): it runs as a standalone
 * container on each VIP node (every node that may hold the VIP), or on the main host for a plain
 * bind address. Standalone, everything runs on the main host and one container is the proxy.
 */
export function proxyNodeNames(args: Pick<InstanceStackArgs, "runtime" | "hosts" | "proxy" | "vip">): string[] | undefined {
  if (args.runtime !== "swarm" || !args.proxy) return undefined;
  if (args.vip?.mode === "keepalived") return args.vip.nodes;
  if (args.proxy.bindAddress) return [args.hosts[0].name];
  return undefined;
}

/**
 * The env's proxy as InstanceStack exposes it: the ReverseProxy (absent without `proxy`), the site URL,
 * the generated basic-auth passwords (secrets) and keepalived's health port.
 */
export interface InstanceProxy {
  proxy?: ReverseProxy;
  /** https://<first main domain>[:port]/ when there are main domains. */
  url?: string;
  /** Generated basic-auth password per user (non-prod). */
  basicAuthPasswords: Record<string, pulumi.Output<string>>;
  /** Loopback port keepalived's check probes on each VIP node (keepalived VIP only). */
  healthPort?: number;
}

/**
 * Children: `${name}-basic-auth-<user>` (random.RandomPassword, non-prod), `${name}-proxy` (ReverseProxy).
 * Without `proxy`: nothing, and no passwords.
 */
export function declareProxy(ctx: InstanceContext): InstanceProxy {
  const { name, args, nonProd, runtime, parent } = ctx;
  const passwords: Record<string, pulumi.Output<string>> = {};
  const proxy = args.proxy;
  if (!proxy) return { basicAuthPasswords: passwords };
  const users = nonProd
    ? proxy.basicAuthUsers.map((user) => {
        const password = new random.RandomPassword(`${name}-basic-auth-${user}`, { length: 24, special: false }, { parent });
        passwords[user] = password.result;
        return { user, hash: password.bcryptHash };
      })
    : [];
  const basicAuth = users.length
    ? pulumi.all(users.map((u) => pulumi.all([u.user, u.hash]))).apply((pairs) => pairs.map(([user, bcryptHash]) => ({ user, bcryptHash })))
    : undefined;
  const headers = { ...proxy.headers, ...(nonProd ? { "X-Robots-Tag": NOINDEX } : {}) };
  const tlsFor = (plainHttp = false): ReverseProxySiteArgs["tls"] =>
    plainHttp
      ? { mode: "off" }
      : proxy.tls === "acme"
        ? ({ mode: "acme", email: proxy.acmeEmail } as ProxyTls)
        : proxy.tls === "internal"
          ? { mode: "internal" }
          : { mode: "selfsigned" };
  const mainRoutes: ProxyRoute[] = [
    ...(args.gitea ? [{ path: "/gitea/", upstream: `gitea:${FORGE_HTTP_PORT}`, stripPrefix: true }] : []),
    ...(args.browser ? [{ path: "/browser/", upstream: `browser:${args.browser.port}`, stripPrefix: true }] : []),
    ...(args.app.websocketPort ? [{ path: "/ws", upstream: `app:${args.app.websocketPort}`, websocket: true }] : []),
    { path: "/", upstream: `app:${args.app.port}` },
  ];
  const sites: ReverseProxySiteArgs[] = [];
  if (proxy.domains.length) {
    sites.push({ domains: proxy.domains, routes: mainRoutes, tls: tlsFor(), basicAuth, headers, importPreviews: args.env === "dev" });
  }
  for (const site of proxy.sites) {
    const upstream = site.upstream === "app" ? `app:${args.app.port}` : site.upstream;
    sites.push({ domains: site.domains, routes: [{ path: "/", upstream }], tls: tlsFor(), basicAuth, headers });
  }
  if (args.vault?.domain) {
    sites.push({ domains: [args.vault.domain], routes: [{ path: "/", upstream: `vault:${VAULT_PORT}` }], tls: tlsFor(args.vault.plainHttp), basicAuth, headers });
  }
  const bindAddress = proxy.bindAddress ?? (args.vip?.mode === "keepalived" ? args.vip.address : undefined);
  const healthPort = args.vip?.mode === "keepalived" ? KEEPALIVED_HEALTH_PORT_BASE + args.vip.routerId : undefined;
  const proxyNodes = proxyNodeNames(args);
  const reverseProxy = new ReverseProxy(
    `${name}-proxy`,
    {
      namePrefix: ctx.prefix,
      runtime,
      dockerProvider: ctx.provider,
      dockerHost: args.hosts[0].docker,
      networkName: ctx.networkName,
      image: proxy.image,
      sites,
      global: { email: proxy.acmeEmail },
      httpPort: proxy.httpPort,
      httpsPort: proxy.httpsPort,
      bindAddress,
      healthPort,
      // Its data volume, and the preview route scripts that find it with `docker ps` on the main host.
      constraints: runtime === "swarm" ? ctx.pinToMainHost : undefined,
      nodes: proxyNodes?.map((node) => ({ name: node, provider: ctx.providers[node], dockerHost: args.hosts.find((h) => h.name === node)?.docker })),
      limits: ctx.limitsOf(proxy.limits),
      labels: ctx.commonLabels,
      protect: args.protect,
    },
    { parent },
  );
  const portSuffix = proxy.httpsPort === 443 ? "" : `:${proxy.httpsPort}`;
  return {
    proxy: reverseProxy,
    // Every TLS mode serves the main domains over HTTPS.
    url: proxy.domains.length ? `https://${proxy.domains[0]}${portSuffix}/` : undefined,
    basicAuthPasswords: passwords,
    healthPort,
  };
}
