// Rule 6: dev and preview workloads have CPU and memory limits, and per host their limits add up to
// at most the configured share of the host (stack config budget.share, else the policy's nonProdShare).
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { machineOf } from "../model/claims";
import type { HostConfig } from "../model/schema";
import { isWorkload, physicalName, T, workloadLabels, workloadLimits } from "./lib/resources";
import { devStackOf, stackInfo } from "./lib/stackContext";
import { LABELS } from "../model/labels";

/**
 * Share (0..1) of a host's CPUs and memory that a dev or preview stack's limits may add up to when
 * neither twinstack:budget.share nor the policy's `nonProdShare` is set. @default 0.4 (40%)
 */
export const DEFAULT_NON_PROD_SHARE = 0.4;

/** Policy config of {@link nonProdBudget}: `nonProdShare` is a fraction 0..1 (@default {@link DEFAULT_NON_PROD_SHARE}). */
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
  const byLabel = hosts.find((h) => h.name === labels[LABELS.host]);
  if (byLabel) return byLabel;
  const endpoint = resource.provider?.props?.host;
  if (typeof endpoint === "string") {
    const byEndpoint = hosts.find((h) => h.docker && machineOf(h.docker) === machineOf(endpoint));
    if (byEndpoint) return byEndpoint;
  }
  return hosts[0];
}

/**
 * Rule 6 (stack policy, mandatory): every dev/preview container and service has a CPU and memory limit,
 * and the limits (CPUs, memory in MB, times replicas) add up to at most the share of each host's
 * capacity (twinstack:budget.share, else the policy's `nonProdShare`); a preview counts against its dev
 * stack's hosts. A violation names the config key that set the limits.
 */
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

    // Which config key set each workload's limits, so an overrun names the key to change: a
    // workload whose limits are the stack's default limits counts under the defaults key.
    const defaults = info.env === "preview" ? info.loaded.config?.preview.limits : info.loaded.config?.budget.defaultLimits;
    type Sum = { cpus: number; memoryMb: number; names: string[]; byKey: Map<string, { cpus: number; memoryMb: number; count: number }> };
    const newSum = (): Sum => ({ cpus: 0, memoryMb: 0, names: [], byKey: new Map() });
    const add = (sum: Sum, key: string, name: string, cpus: number, memoryMb: number, count: number) => {
      sum.cpus += cpus * count;
      sum.memoryMb += memoryMb * count;
      sum.names.push(name);
      const k = sum.byKey.get(key) ?? { cpus, memoryMb, count: 0 };
      k.count += count;
      sum.byKey.set(key, k);
    };
    const perHost = new Map<string, Sum>();
    const cluster = newSum();
    for (const r of workloads) {
      const labels = workloadLabels(r.type, r.props);
      const role = labels[LABELS.role];
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
      const cpus = limits.cpus as number;
      const memoryMb = limits.memoryMb as number;
      const isDefault = defaults !== undefined && defaults.cpus === cpus && defaults.memoryMb === memoryMb;
      const key = isDefault || !role || !LIMIT_KEYS[role] ? defaultsKey : LIMIT_KEYS[role];
      if (r.type === T.service) {
        const replicas = Number.isFinite(limits.replicas) ? (limits.replicas as number) : hosts.length;
        add(cluster, key, name, cpus, memoryMb, replicas);
      } else {
        const host = hostOf(r, labels, hosts);
        const sum = perHost.get(host.name) ?? newSum();
        add(sum, key, name, cpus, memoryMb, 1);
        perHost.set(host.name, sum);
      }
    }
    if (!hosts?.length) {
      reportViolation(`cannot size the ${info.env} budget: no host capacity in ${capacitySource.display} (${capacitySource.problems[0] ?? "no hosts"})`);
      return;
    }

    // One line per overrun host: what is asked and allowed, then the smallest change of each key that fixes it.
    const check = (where: string, hostKey: string, sum: Sum, cpus: number, memoryMb: number) => {
      const maxCpus = share * cpus;
      const maxMemory = share * memoryMb;
      const overCpus = sum.cpus - maxCpus;
      const overMemory = sum.memoryMb - maxMemory;
      if (overCpus <= 1e-9 && overMemory <= 1e-9) return;
      const asked = [overCpus > 1e-9 ? `${round(sum.cpus)} CPUs` : undefined, overMemory > 1e-9 ? `${round(sum.memoryMb)} MiB` : undefined].filter(Boolean).join(" and ");
      const allowed = [overCpus > 1e-9 ? `${round(maxCpus)} CPUs` : undefined, overMemory > 1e-9 ? `${Math.floor(maxMemory)} MiB` : undefined].filter(Boolean).join(" and ");
      const fixes: string[] = [];
      // The key that carries most of the overrun: lower it just enough (rounded down to 0.05 CPU / 64 MiB).
      const [key, used] = [...sum.byKey.entries()].sort((a, b) => b[1].count * b[1].cpus - a[1].count * a[1].cpus)[0];
      const lowered: string[] = [];
      if (overCpus > 1e-9) {
        const target = Math.floor(((used.cpus - overCpus / used.count) * 100) / 5) * 0.05;
        if (target > 0) lowered.push(`${key}.cpus from ${used.cpus} to ${round(target)}`);
      }
      if (overMemory > 1e-9) {
        const target = Math.floor((used.memoryMb - overMemory / used.count) / 64) * 64;
        if (target > 0) lowered.push(`${key}.memoryMb from ${used.memoryMb} to ${target}`);
      }
      if (lowered.length && lowered.length === [overCpus, overMemory].filter((o) => o > 1e-9).length) {
        fixes.push(`lower ${lowered.join(" and ")} (${used.count === 1 ? "1 workload uses it" : `${used.count} workloads use it`})`);
      }
      const neededShare = Math.max(sum.cpus / cpus, sum.memoryMb / memoryMb);
      if (neededShare <= 1) fixes.push(`raise twinstack:budget.share to ${Math.ceil(neededShare * 100) / 100}`);
      const size = [
        overCpus > 1e-9 ? `cpus: ${Math.ceil((sum.cpus / share) * 100) / 100}` : undefined,
        overMemory > 1e-9 ? `memoryMb: ${Math.ceil(sum.memoryMb / share)}` : undefined,
      ].filter(Boolean);
      fixes.push(`if the host is bigger, say so: ${hostKey} ${size.join(", ")} or more`);
      reportViolation(
        `${info.env} workloads on ${where} ask for ${asked}, over the ${allowed} allowed (${round(share * 100)}% of ${cpus} CPUs and ${memoryMb} MiB, ${shareSource}): ${fixes.join("; or ")}`,
      );
    };
    hosts.forEach((host, i) => {
      const sum = perHost.get(host.name);
      if (sum) check(`host "${host.name}"`, `twinstack:hosts[${i}]`, sum, host.cpus, host.memoryMb);
    });
    if (cluster.names.length) {
      const total = newSum();
      for (const part of [cluster, ...perHost.values()]) {
        total.cpus += part.cpus;
        total.memoryMb += part.memoryMb;
        total.names.push(...part.names);
        for (const [key, used] of part.byKey) {
          const k = total.byKey.get(key) ?? { ...used, count: 0 };
          k.count += used.count;
          total.byKey.set(key, k);
        }
      }
      check(
        `the swarm (${hosts.map((h) => h.name).join(", ")})`,
        "each of twinstack:hosts[]",
        total,
        hosts.reduce((n, h) => n + h.cpus, 0),
        hosts.reduce((n, h) => n + h.memoryMb, 0),
      );
    }
  },
};
