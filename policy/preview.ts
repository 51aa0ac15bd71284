// Rule 7: a preview stack only touches the dev stack's Docker host, network and database server,
// and holds nothing protected (`pulumi destroy` must remove all of it).
import { PolicyProviderResource, PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { machineOf } from "../model/claims";
import type { StackConfig } from "../model/schema";
import { isWorkload, nameSegments, physicalName, T, workloadNetworks } from "./lib/resources";
import { devStackOf, envOf, LoadedStackConfig, siblingStacks, stackInfo } from "./lib/stackContext";
import { POSTGRES_PORT } from "../model/ports";
import { previewDatabaseName } from "../model/names";

function dockerMachines(config: StackConfig | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const h of config?.hosts ?? []) if (h.docker) out.set(machineOf(h.docker), h.docker);
  return out;
}

/** host:port pairs a preview may reach the dev database server on. */
function devDatabaseServers(dev: StackConfig): string[] {
  const pg = dev.postgres;
  if (pg.mode === "shared" && pg.host) return [`${pg.host.toLowerCase()}:${pg.port}`];
  if (pg.mode === "dedicated" && pg.publishPort !== undefined) {
    const hosts = new Set(["127.0.0.1", "localhost"]);
    for (const h of dev.hosts) {
      if (h.address) hosts.add(h.address.toLowerCase());
      const m = h.docker ? /^(?:ssh|tcp):\/\/(?:[^@/]*@)?([^:/]+)/.exec(h.docker) : null;
      if (m) hosts.add(m[1].toLowerCase());
    }
    return [...hosts].map((h) => `${h}:${pg.publishPort}`);
  }
  return [];
}

function prodDatabaseServers(prods: LoadedStackConfig[]): string[] {
  return prods.flatMap((p) => (p.config?.postgres.mode === "shared" && p.config.postgres.host ? [`${p.config.postgres.host.toLowerCase()}:${p.config.postgres.port}`] : []));
}

/**
 * Rule 7 (stack policy, mandatory): a preview stack protects nothing, and its Docker providers,
 * networks and database servers are those of its dev stack (twinstack:preview.devStack), never a prod
 * stack's host or database server.
 */
export const previewStaysOnDev: StackValidationPolicy = {
  name: "preview-stays-on-dev",
  description: "Preview stacks only touch the dev host, network and database server, and hold nothing protected.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const anchor = args.resources.find((r) => r.urn.startsWith("urn:pulumi:"));
    if (!anchor) return;
    const info = stackInfo(anchor.urn);
    if (info?.env !== "preview") return;

    for (const r of args.resources) {
      if (r.opts.protect) {
        reportViolation(`preview resource "${physicalName(r.props, r.name)}" (${r.type}) is protected: a preview must be removable by \`pulumi destroy\`; drop protect`, r.urn);
      }
    }

    const dev = devStackOf(info.loaded);
    if (!dev.config) {
      reportViolation(
        `cannot read the dev stack this preview builds on (${dev.display}: ${dev.problems[0] ?? "no config"}): ` +
          "set twinstack:preview.devStack to the dev stack whose Pulumi.<stack>.yaml sits beside this one",
      );
      return;
    }
    const prods = siblingStacks(info.loaded).filter((s) => envOf(s) === "prod");
    const devHosts = dockerMachines(dev.config);
    const prodHosts = new Map<string, string>();
    for (const p of prods) for (const [machine, endpoint] of dockerMachines(p.config)) prodHosts.set(machine, endpoint);
    const devList = [...devHosts.values()].join(" or ");

    // Docker: every docker resource's provider points at a dev host.
    const seenProviders = new Set<string>();
    const checkDockerProvider = (provider: PolicyProviderResource | undefined, r: PolicyResource) => {
      if (!provider) {
        reportViolation(`preview ${r.type} "${physicalName(r.props, r.name)}" uses the default docker provider: give it a provider whose host is the dev host ${devList}`, r.urn);
        return;
      }
      if (seenProviders.has(provider.urn)) return;
      seenProviders.add(provider.urn);
      const host = provider.props?.host;
      if (typeof host !== "string" || host === "") {
        reportViolation(`preview docker provider "${provider.name}" has no host (it would use whatever DOCKER_HOST is): set host to the dev host ${devList}`, provider.urn);
        return;
      }
      const machine = machineOf(host);
      if (devHosts.has(machine)) return;
      if (prodHosts.has(machine)) {
        reportViolation(`preview docker provider "${provider.name}" points at prod's host ${host}: previews run on the dev host ${devList}`, provider.urn);
      } else {
        reportViolation(`preview docker provider "${provider.name}" points at ${host}, which is not a host of the dev stack (${dev.display}): use ${devList}`, provider.urn);
      }
    };
    for (const r of args.resources) {
      if (r.type === T.dockerProvider) checkDockerProvider({ type: r.type, props: r.props, urn: r.urn, name: r.name }, r);
      else if (r.type.startsWith("docker:")) checkDockerProvider(r.provider, r);
    }

    // Networks: workloads join the dev network, never a prod one or the host's.
    for (const r of args.resources.filter((x) => isWorkload(x.type))) {
      const name = physicalName(r.props, r.name);
      const { names, mode } = workloadNetworks(r.type, r.props);
      if (mode === "host") {
        reportViolation(`preview workload "${name}" uses the host network: join the dev network instead`, r.urn);
        continue;
      }
      const prodNet = names.find((n) => nameSegments(n).includes("prod"));
      if (prodNet) reportViolation(`preview workload "${name}" joins the prod network "${prodNet}": join the dev network instead`, r.urn);
      else if (!names.some((n) => nameSegments(n).includes("dev"))) {
        reportViolation(
          `preview workload "${name}" is not on the dev network (networks: ${names.join(", ") || "none"}): join the dev stack's network (its networkName output)`,
          r.urn,
        );
      }
    }

    // Database: on the dev server, named for this preview.
    const devServers = devDatabaseServers(dev.config);
    const prodServers = prodDatabaseServers(prods);
    for (const r of args.resources.filter((x) => x.type === T.pgProvider)) {
      const server = `${String(r.props.host ?? "").toLowerCase()}:${String(r.props.port ?? POSTGRES_PORT)}`;
      if (devServers.includes(server)) continue;
      if (prodServers.includes(server)) {
        reportViolation(
          `preview postgresql provider "${r.name}" connects to prod's database server ${server}: use the dev server ${devServers.join(" or ") || "(the dev stack publishes none)"}`,
          r.urn,
        );
      } else {
        reportViolation(
          `preview postgresql provider "${r.name}" connects to ${server}, which is not the dev database server (${devServers.join(" or ") || "the dev stack publishes none: set twinstack:postgres.publishPort in " + dev.display})`,
          r.urn,
        );
      }
    }
    const app = dev.config.app?.name;
    for (const r of args.resources.filter((x) => x.type === T.pgDatabase)) {
      const name = physicalName(r.props, r.name);
      if (!nameSegments(name).includes("preview")) {
        const suggestion = app && info.slug ? previewDatabaseName(app, info.slug) : "<app>_preview_<slug>";
        reportViolation(`preview database "${name}" does not carry the preview token: name it ${suggestion}`, r.urn);
      }
    }
  },
};
