// Rule 6: dev and preview workloads have CPU and memory limits, and per host their limits add up to
// at most the configured share of the host (stack config budget.share, else the policy's nonProdShare).
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { machineOf } from "../stacks/claims";
import { HostConfig } from "../stacks/schema";
import { isWorkload, physicalName, T, workloadLabels, workloadLimits } from "./lib/resources";
import { devStackOf, stackInfo } from "./lib/stackContext";

export const DEFAULT_NON_PROD_SHARE = 0.4;

export interface BudgetConfig {
  nonProdShare: number;
}

/** Where a role's limits are set in the stack config. */
const LIMIT_KEYS: Record<string, string> = {
  app: "twinstack:app.limits",
  worker: "twinstack:app.workers[].limits",
  postgres: "twinstack:postgres.limits",
  redis: "twinstack:redis.limits",
  mqtt: "twinstack:mqtt.limits",
  vault: "twinstack:vault.limits",
  gitea: "twinstack:gitea.limits",
  runner: "twinstack:gitea.runner.limits",
  browser: "twinstack:browser.limits",
  proxy: "twinstack:proxy.limits",
  etcd: "twinstack:haPostgres.limits",
  patroni: "twinstack:haPostgres.limits",
  haproxy: "twinstack:haPostgres.limits",
};

/** Roles that are not budgeted: keepalived runs on the host network with a fixed tiny footprint. */
const UNBUDGETED_ROLES = new Set(["keepalived"]);

const round = (n: number) => Math.round(n * 100) / 100;

function hostOf(resource: PolicyResource, labels: Record<string, string>, hosts: HostConfig[]): HostConfig {
  const byLabel = hosts.find((h) => h.name === labels["twinstack.host"]);
  if (byLabel) return byLabel;
  const endpoint = resource.provider?.props?.host;
  if (typeof endpoint === "string") {
    const byEndpoint = hosts.find((h) => h.docker && machineOf(h.docker) === machineOf(endpoint));
    if (byEndpoint) return byEndpoint;
  }
  return hosts[0];
}

export const nonProdBudget: StackValidationPolicy = {
  name: "nonprod-resource-budget",
  description: "Dev and preview workloads have CPU and memory limits that add up to at most the configured share of each host (default 40%).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      nonProdShare: {
        type: "number",
        minimum: 0,
        maximum: 1,
        default: DEFAULT_NON_PROD_SHARE,
        description: "Share of a host's CPUs and memory a non-prod stack's limits may add up to, unless its stack config sets budget.share.",
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const workloads = args.resources.filter((r) => isWorkload(r.type));
    if (workloads.length === 0) return;
    const info = stackInfo(workloads[0].urn);
    if (info?.env !== "dev" && info?.env !== "preview") return;

    const capacitySource = info.env === "preview" ? devStackOf(info.loaded) : info.loaded;
    const hosts = capacitySource.config?.hosts;
    const rawShare = (info.loaded.values.budget as { share?: unknown } | undefined)?.share;
    const share = rawShare !== undefined && Number(rawShare) > 0 ? Number(rawShare) : (args.getConfig<Partial<BudgetConfig>>().nonProdShare ?? DEFAULT_NON_PROD_SHARE);
    const shareSource = rawShare !== undefined ? `twinstack:budget.share in ${info.loaded.display}` : "the policy's nonProdShare";
    const defaultsKey = info.env === "preview" ? "twinstack:preview.limits" : "twinstack:budget.defaultLimits";

    const perHost = new Map<string, { cpus: number; memoryMb: number; names: string[] }>();
    const cluster = { cpus: 0, memoryMb: 0, names: [] as string[] };
    for (const r of workloads) {
      const labels = workloadLabels(r.type, r.props);
      const role = labels["twinstack.role"];
      if (role && UNBUDGETED_ROLES.has(role)) continue;
      const name = physicalName(r.props, r.name);
      const kind = r.type === T.service ? "service" : "container";
      const limits = workloadLimits(r.type, r.props);
      const missing = [limits.cpus === undefined ? "CPU" : undefined, limits.memoryMb === undefined ? "memory" : undefined].filter((x) => x);
      if (missing.length) {
        const key = (role && LIMIT_KEYS[role]) ?? defaultsKey;
        reportViolation(`${info.env} ${kind} "${name}" has no ${missing.join(" or ")} limit: set ${key} (or ${defaultsKey}) with cpus and memoryMb`, r.urn);
        continue;
      }
      if (!hosts?.length) continue;
      if (r.type === T.service) {
        const replicas = Number.isFinite(limits.replicas) ? limits.replicas : hosts.length;
        cluster.cpus += (limits.cpus as number) * replicas;
        cluster.memoryMb += (limits.memoryMb as number) * replicas;
        cluster.names.push(name);
      } else {
        const host = hostOf(r, labels, hosts);
        const sum = perHost.get(host.name) ?? { cpus: 0, memoryMb: 0, names: [] };
        sum.cpus += limits.cpus as number;
        sum.memoryMb += limits.memoryMb as number;
        sum.names.push(name);
        perHost.set(host.name, sum);
      }
    }
    if (!hosts?.length) {
      reportViolation(`cannot size the ${info.env} budget: no host capacity in ${capacitySource.display} (${capacitySource.problems[0] ?? "no hosts"})`);
      return;
    }

    const fix = `lower the limits (${defaultsKey} or per-service limits), raise twinstack:budget.share, or give the host its real size (twinstack:hosts[].cpus / memoryMb)`;
    const check = (where: string, sum: { cpus: number; memoryMb: number; names: string[] }, cpus: number, memoryMb: number) => {
      const maxCpus = share * cpus;
      const maxMemory = share * memoryMb;
      const pct = `${round(share * 100)}% (${shareSource})`;
      if (sum.cpus > maxCpus + 1e-9) {
        reportViolation(`${info.env} workloads on ${where} are limited to ${round(sum.cpus)} CPUs in total, over ${pct} of its ${cpus} CPUs = ${round(maxCpus)}: ${fix}`);
      }
      if (sum.memoryMb > maxMemory + 1e-9) {
        reportViolation(`${info.env} workloads on ${where} are limited to ${round(sum.memoryMb)} MiB in total, over ${pct} of its ${memoryMb} MiB = ${round(maxMemory)}: ${fix}`);
      }
    };
    for (const host of hosts) {
      const sum = perHost.get(host.name);
      if (sum) check(`host "${host.name}"`, sum, host.cpus, host.memoryMb);
    }
    if (cluster.names.length) {
      const total = { cpus: cluster.cpus, memoryMb: cluster.memoryMb, names: cluster.names };
      for (const sum of perHost.values()) {
        total.cpus += sum.cpus;
        total.memoryMb += sum.memoryMb;
      }
      check(`the swarm (${hosts.map((h) => h.name).join(", ")})`, total, hosts.reduce((n, h) => n + h.cpus, 0), hosts.reduce((n, h) => n + h.memoryMb, 0));
    }
  },
};
