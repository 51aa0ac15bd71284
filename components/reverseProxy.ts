// Caddy in front of one environment: the Caddyfile is rendered by a pure function from a typed
// site list, self-signed certificates come from @pulumi/tls, and preview stacks add routes by
// dropping snippets into a volume the dev site imports.
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as command from "@pulumi/command";
import { certificateAuthority } from "./certificates";
import { CaddyGlobalOptions, ProxyRoute, ProxySite, ProxyTls, renderCaddyfile } from "./render/caddyfile";
import { renderProxyConfigScript, renderProxyConfigStdin } from "./render/proxyConfig";
import { InvariantError } from "./render/invariant";
import { Runtime, WorkloadFile, WorkloadLimits, declareWorkload } from "./workload";
import { LABELS } from "../model/labels";
import { CADDY } from "../model/images";

/**
 * Directory in the proxy container whose `*.caddy` route snippets a site with `importPreviews`
 * imports: dev's preview routes (a volume, so previews add routes without re-declaring the proxy).
 */
export const PREVIEWS_DIR = "/etc/caddy/previews";
/**
 * Where the rendered Caddyfile goes: the path the official Caddy image runs
 * (https://github.com/caddyserver/caddy-docker, `CMD caddy run --config /etc/caddy/Caddyfile`; model/images.ts CADDY).
 */
export const CADDYFILE_PATH = CADDY.paths.caddyfile;
const CERTS_DIR = "/etc/caddy/certs";

/** One site of the proxy: the domains it answers, its routes and TLS, and (non-prod) basic auth and headers. */
export interface ReverseProxySiteArgs {
  /** Host names of the site (at least one; `*.example.com` allowed); the first names its certificate files. */
  domains: string[];
  /** Path routes to upstreams (`host:port`), "/" the catch-all (components/render/caddyfile.ts ProxyRoute). */
  routes: ProxyRoute[];
  /** "selfsigned" gets a certificate from this proxy's own CA. */
  tls: ProxyTls | { mode: "selfsigned" };
  /** Users asked for on every route, with bcrypt hashes (never passwords); absent or empty: no auth. */
  basicAuth?: pulumi.Input<{ user: string; bcryptHash: string }[]>;
  /** Response headers set on every route (e.g. `X-Robots-Tag: noindex` outside prod). @default {} */
  headers?: Record<string, string>;
  /** Import the preview route snippets of {@link PREVIEWS_DIR} into this site (dev's main site). @default false */
  importPreviews?: boolean;
}

/** Arguments of {@link ReverseProxy}. */
export interface ReverseProxyArgs {
  /** Physical name prefix carrying the env token, e.g. "gigi-dev". */
  namePrefix: string;
  /** "standalone" (a container) or "swarm" (a service, or per-node containers with `nodes`). */
  runtime: Runtime;
  /** Docker provider the proxy is declared through (the env's main host / Swarm manager). */
  dockerProvider: pulumi.ProviderResource;
  /**
   * Docker endpoint (unix://, ssh://, tcp://) of `dockerProvider`'s host, for the Docker CLI that
   * changes a standalone proxy's configuration in place (see `configCommands`). Required when the
   * proxy runs as a standalone container there (`runtime` standalone without `nodes`).
   */
  dockerHost?: pulumi.Input<string>;
  /** The env network: upstreams are reached by their aliases on it. */
  networkName: pulumi.Input<string>;
  /** Caddy image (official `caddy`, model/images.ts CADDY). */
  image: pulumi.Input<string>;
  /** The sites, in Caddyfile order. */
  sites: ReverseProxySiteArgs[];
  /** Caddyfile global options (ACME email, ports, auto_https); absent: Caddy's defaults. */
  global?: CaddyGlobalOptions;
  /** Host port published for the container's HTTP port 80 (TCP). */
  httpPort: number;
  /** Host port published for the container's HTTPS port 443 (TCP). */
  httpsPort: number;
  /** Bind the published ports to this address (the env's VIP), or all interfaces. */
  bindAddress?: string;
  /**
   * Loopback port answering plain HTTP, for keepalived's track script: the VIP-bound ports cannot
   * be probed on 127.0.0.1, and each env sharing the nodes needs its own port.
   */
  healthPort?: number;
  /** Limits (CPUs, MiB); absent: unlimited. */
  limits?: WorkloadLimits;
  /** Labels of the env's workloads (env, stack, host); the proxy's role labels are added. @default {} */
  labels?: Record<string, pulumi.Input<string>>;
  /** Protect the Caddy data volume (certificates and ACME account) against deletion (prod). @default false */
  protect?: boolean;
  /** Swarm placement constraints of the proxy service (e.g. `node.labels.twinstack.host==node1`); ignored with `nodes`. */
  constraints?: string[];
  /**
   * Run the proxy as one standalone container per node (each on that node's Docker provider, joined
   * to the env's attachable overlay network) instead of one workload on `dockerProvider`. Needed in a
   * Swarm whenever the proxy must bind one address (`bindAddress`, the env's VIP) or a loopback
   * `healthPort`: a Swarm service's published ports bind every address of every node (ingress mode)
   * or every address of its node (host mode) — https://docs.docker.com/engine/swarm/ingress/ and
   * https://docs.docker.com/reference/compose-file/services/#ports (`host_ip` is not supported by
   * Swarm) — so two envs on the same nodes could not both serve 80/443. Binding the VIP on a node
   * that does not hold it needs `net.ipv4.ip_nonlocal_bind=1` there (VirtualIp sets it).
   * Default: one workload in `runtime`.
   */
  nodes?: { name: string; provider: pulumi.ProviderResource; dockerHost?: pulumi.Input<string> }[];
}

/**
 * The env's Caddy reverse proxy: renders the Caddyfile from `sites` (components/render/caddyfile.ts),
 * issues certificates from its own CA for "selfsigned" sites, and runs Caddy with its data volume
 * `<namePrefix>-caddy-data`, publishing `httpPort`/`httpsPort` (on `bindAddress` when set). A
 * standalone proxy's configuration changes are installed and reloaded in place. Type token
 * `twinstack:index:ReverseProxy`. Children: `${name}-ca` (with selfsigned sites), `${name}-data`,
 * the workload(s) and `configCommands`.
 * @throws InvariantError when a standalone proxy has no `dockerHost` (per node or in the args).
 * @example
 * const proxy = new ReverseProxy("dev-proxy", {
 *   namePrefix: "gigi-dev", runtime: "standalone", dockerProvider, dockerHost: "ssh://deploy@203.0.113.10",
 *   networkName, image: CADDY.image, httpPort: 80, httpsPort: 443,
 *   sites: [{ domains: ["dev.gigi.example"], routes: [{ path: "/", upstream: "app:3000" }], tls: { mode: "acme" },
 *             basicAuth: [{ user: "dev", bcryptHash }], headers: { "X-Robots-Tag": "noindex, nofollow" }, importPreviews: true }],
 * }, { parent: this });
 */
export class ReverseProxy extends pulumi.ComponentResource {
  /** The rendered Caddyfile (holds bcrypt hashes only, never passwords). */
  readonly caddyfile: pulumi.Output<string>;
  /** Label value that finds this proxy's container: twinstack.proxy=<label>. */
  readonly label: string;
  readonly previewsDir = PREVIEWS_DIR;
  /** PEM of the self-signed CA, when any site uses it (clients trust this). */
  readonly caCertificate?: pulumi.Output<string>;
  /** The proxy's containers (one per node with `nodes`) or its Swarm service. */
  readonly workloads: (docker.Container | docker.Service)[];
  /** Names of the nodes a per-node proxy runs on (empty when it is one workload). */
  readonly nodeNames: string[];
  /**
   * Per standalone proxy container, the Command that installs its files and reloads Caddy in place
   * (components/render/proxyConfig.ts); empty for a Swarm service (its files are service configs
   * named by content: a change is a rolling start-first service update).
   */
  readonly configCommands: command.local.Command[];

  constructor(name: string, args: ReverseProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("twinstack:index:ReverseProxy", name, {}, opts);
    this.label = args.namePrefix;

    const files: WorkloadFile[] = [];
    const selfSigned = args.sites.filter((s) => s.tls.mode === "selfsigned");
    if (selfSigned.length) {
      const ca = certificateAuthority(
        `${name}-ca`,
        {
          validityPeriodHours: 24 * 365 * 5,
          earlyRenewalHours: 24 * 30,
          allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
          subject: { commonName: `${args.namePrefix} CA`, organization: "twinstack" },
        },
        this,
      );
      this.caCertificate = ca.cert.certPem;
      for (const site of selfSigned) {
        const primary = site.domains[0];
        const { key, cert } = ca.issue(`${name}-${primary}`, {
          dnsNames: site.domains,
          subject: { commonName: primary, organization: "twinstack" },
          validityPeriodHours: 24 * 365,
          earlyRenewalHours: 24 * 30,
          allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
        });
        files.push({ path: `${CERTS_DIR}/${primary}.crt`, content: pulumi.interpolate`${cert.certPem}${ca.cert.certPem}` });
        files.push({ path: `${CERTS_DIR}/${primary}.key`, content: key.privateKeyPem, secret: true });
      }
    }

    const sites = pulumi.all(args.sites.map((site) => pulumi.output(site.basicAuth ?? []))).apply((auths): ProxySite[] =>
      args.sites.map((site, i) => ({
        domains: site.domains,
        routes: site.routes,
        tls: site.tls.mode === "selfsigned" ? { mode: "certificate", certFile: `${CERTS_DIR}/${site.domains[0]}.crt`, keyFile: `${CERTS_DIR}/${site.domains[0]}.key` } : site.tls,
        basicAuth: auths[i].length ? auths[i] : undefined,
        headers: site.headers,
        importDir: site.importPreviews ? PREVIEWS_DIR : undefined,
      })),
    );
    // bcrypt hashes of generated passwords are not credentials; keeping the Caddyfile plain lets
    // `pulumi stack output caddyfile` and the policy pack read it. The passwords stay secret.
    this.caddyfile = pulumi.unsecret(sites.apply((list) => renderCaddyfile(list, args.global)));
    files.unshift({ path: CADDYFILE_PATH, content: this.caddyfile });

    // One instance: on `dockerProvider` in `runtime`. Per node: standalone containers, each with its
    // own volumes (Docker volumes are local to a host), named with the node so they never collide.
    const placements = args.nodes?.length
      ? args.nodes.map((node) => ({ suffix: `-${node.name}`, provider: node.provider, runtime: "standalone" as const, host: node.name, dockerHost: node.dockerHost }))
      : [{ suffix: "", provider: args.dockerProvider, runtime: args.runtime, host: undefined, dockerHost: args.dockerHost }];
    this.nodeNames = args.nodes?.map((n) => n.name) ?? [];
    this.configCommands = [];
    this.workloads = placements.map((at) => {
      const onNode = { parent: this, provider: at.provider };
      const data = new docker.Volume(`${name}-data${at.suffix}`, { name: `${args.namePrefix}-caddy-data${at.suffix}` }, { ...onNode, protect: args.protect });
      // Only a site that imports preview routes needs the snippet volume; previews are not prod data.
      const previews = args.sites.some((s) => s.importPreviews)
        ? new docker.Volume(`${name}-previews${at.suffix}`, { name: `${args.namePrefix}-caddy-previews${at.suffix}` }, onNode)
        : undefined;
      const containerName = `${args.namePrefix}-caddy${at.suffix}`;
      const standalone = at.runtime === "standalone";
      const workload = declareWorkload(
        `${name}-caddy${at.suffix}`,
        {
          name: containerName,
          role: "proxy",
          image: args.image,
          network: { name: args.networkName, aliases: ["caddy"] },
          ports: [
            { internal: 80, external: args.httpPort, ip: args.bindAddress },
            { internal: 443, external: args.httpsPort, ip: args.bindAddress },
            ...(args.healthPort ? [{ internal: 80, external: args.healthPort, ip: "127.0.0.1" }] : []),
          ],
          volumes: [{ volumeName: data.name, path: "/data" }, ...(previews ? [{ volumeName: previews.name, path: PREVIEWS_DIR }] : [])],
          files,
          limits: args.limits,
          healthcheck: { test: ["CMD", "caddy", "version"], intervalSeconds: 30 },
          labels: { ...(args.labels ?? {}), ...(at.host ? { [LABELS.host]: at.host } : {}), [LABELS.proxy]: this.label },
          constraints: at.host ? undefined : args.constraints,
        },
        // A standalone proxy is named and holds fixed ports (on the VIP): a change of its files
        // would replace it (uploads are ForceNew in the provider), i.e. remove it before its
        // successor can bind, on every node at once. Its files go in at creation; a later change
        // is installed into the running container and loaded by `caddy reload` (the Command
        // below), which keeps the listeners and connections (components/render/proxyConfig.ts).
        { runtime: at.runtime, provider: at.provider, parent: this, ignoreChanges: standalone ? ["uploads"] : undefined },
      );
      if (standalone) {
        if (at.dockerHost === undefined)
          throw new InvariantError(`ReverseProxy ${name}: a standalone proxy needs the Docker endpoint of its host (dockerHost) to reload its configuration`);
        // Certificates and keys first, the Caddyfile that names them last.
        const ordered = [...files.filter((f) => f.path !== CADDYFILE_PATH), ...files.filter((f) => f.path === CADDYFILE_PATH)];
        // Keys stay secret: stdin is derived from them, so the engine keeps it secret in state.
        const stdin = pulumi
          .all(ordered.map((f) => pulumi.output(f.content)))
          .apply((contents) => renderProxyConfigStdin(ordered.map((f, i) => ({ path: f.path, content: contents[i], mode: f.secret ? 0o600 : 0o644 }))));
        this.configCommands.push(
          new command.local.Command(
            `${name}-caddy-config${at.suffix}`,
            {
              create: renderProxyConfigScript({ containerName, caddyfilePath: CADDYFILE_PATH }),
              environment: { DOCKER_HOST: at.dockerHost },
              // A changed file changes stdin: the engine updates the Command, which runs `create`
              // again ("if empty, create will run again", @pulumi/command local Command `update`).
              stdin,
              // A new container (e.g. a new image) started with the files it was created with
              // (uploads are ignored once it exists): install the current ones into it.
              triggers: [workload.id],
            },
            { parent: this, dependsOn: [workload] },
          ),
        );
      }
      return workload;
    });

    this.registerOutputs({ caddyfile: this.caddyfile, label: this.label, caCertificate: this.caCertificate });
  }
}
