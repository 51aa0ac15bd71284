// prometheus.yml and the alert rules of an env's monitoring (components/monitoring.ts). Pure: no
// Pulumi imports. Checked by the real tools in tests/consumers/monitoring.test.ts (`promtool check
// config`, `promtool check rules`, `promtool test rules`, and a running Prometheus).
//
// Formats: https://prometheus.io/docs/prometheus/latest/configuration/configuration/ (scrape
// configs, static_configs, alerting.alertmanagers, rule_files) and
// https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/ (groups, alert, expr,
// for, labels, annotations). Blackbox probing through relabelling (target -> __param_target,
// instance; __address__ -> the exporter): https://github.com/prometheus/blackbox_exporter#prometheus-configuration
import YAML from "yaml";
import { RenderInvariantError } from "./invariant";

/** Targets probed through one blackbox module. */
export interface ProbeGroup {
  /** Blackbox module (components/render/blackbox.ts), e.g. "http_2xx". */
  module: string;
  /** URLs to probe, e.g. https://makapix.club/api/health. */
  targets: string[];
}

/** Input of {@link renderPrometheusConfig}; addresses are `host:port` on the env network. */
export interface PrometheusConfigArgs {
  /** Scrape and rule evaluation interval, seconds. */
  scrapeIntervalSeconds: number;
  /** Rule evaluation interval, seconds. @default scrapeIntervalSeconds */
  evaluationIntervalSeconds?: number;
  /** Labels added to every series and alert (env, stack). */
  externalLabels: Record<string, string>;
  /** host:port of the Alertmanager. */
  alertmanager: string;
  /** Paths of the rule files inside the Prometheus container. */
  ruleFiles: string[];
  /** host:port of the blackbox exporter and what it probes. */
  blackbox?: { address: string; probes: ProbeGroup[] };
  /** Plain scrape jobs, e.g. { job: "node", targets: ["node-exporter:9100"] }. */
  scrapeJobs: { job: string; targets: string[] }[];
}

const JOB_RE = /^[a-zA-Z_][a-zA-Z0-9_-]*$/;
const HOSTPORT_RE = /^[A-Za-z0-9.-]+:\d{1,5}$/;

/** The job name of the blackbox probes; the alert rules select on it. */
export const PROBE_JOB = "blackbox";

/**
 * prometheus.yml (YAML): global intervals and external labels, the Alertmanager, rule files, scrape
 * jobs and the blackbox probe job (https://prometheus.io/docs/prometheus/latest/configuration/configuration/).
 * Pure; checked by the real `promtool check config` in tests.
 * @throws RenderInvariantError when the interval is below 1 s, an address is not `host:port`, a job
 * name is invalid, or a probe target is not an http(s) URL.
 */
export function renderPrometheusConfig(a: PrometheusConfigArgs): string {
  if (!(a.scrapeIntervalSeconds >= 1)) throw new RenderInvariantError("prometheus: scrapeIntervalSeconds must be at least 1");
  if (!HOSTPORT_RE.test(a.alertmanager)) throw new RenderInvariantError(`prometheus: alertmanager must be host:port, got ${JSON.stringify(a.alertmanager)}`);
  for (const { job, targets } of a.scrapeJobs) {
    if (!JOB_RE.test(job) || job === PROBE_JOB) throw new RenderInvariantError(`prometheus: invalid job name ${JSON.stringify(job)}`);
    for (const t of targets) if (!HOSTPORT_RE.test(t)) throw new RenderInvariantError(`prometheus: target of job ${job} must be host:port, got ${JSON.stringify(t)}`);
  }
  const probeJobs = (a.blackbox?.probes ?? [])
    .filter((p) => p.targets.length > 0)
    .map((p) => {
      if (!HOSTPORT_RE.test(a.blackbox!.address)) throw new RenderInvariantError(`prometheus: blackbox address must be host:port, got ${JSON.stringify(a.blackbox!.address)}`);
      for (const t of p.targets) if (!/^https?:\/\/\S+$/.test(t)) throw new RenderInvariantError(`prometheus: probe target must be an http(s) URL, got ${JSON.stringify(t)}`);
      return {
        job_name: `${PROBE_JOB}-${p.module}`,
        metrics_path: "/probe",
        params: { module: [p.module] },
        static_configs: [{ targets: p.targets, labels: { probe: PROBE_JOB } }],
        relabel_configs: [
          { source_labels: ["__address__"], target_label: "__param_target" },
          { source_labels: ["__param_target"], target_label: "instance" },
          { target_label: "__address__", replacement: a.blackbox!.address },
        ],
      };
    });
  const config = {
    global: {
      scrape_interval: `${a.scrapeIntervalSeconds}s`,
      evaluation_interval: `${a.evaluationIntervalSeconds ?? a.scrapeIntervalSeconds}s`,
      external_labels: a.externalLabels,
    },
    alerting: { alertmanagers: [{ static_configs: [{ targets: [a.alertmanager] }] }] },
    rule_files: a.ruleFiles,
    scrape_configs: [
      { job_name: "prometheus", static_configs: [{ targets: ["localhost:9090"] }] },
      ...a.scrapeJobs.filter((j) => j.targets.length > 0).map((j) => ({ job_name: j.job, static_configs: [{ targets: j.targets }] })),
      ...probeJobs,
    ],
  };
  return YAML.stringify(config);
}

/** Alert thresholds; defaults are Makapix §10 (seed 003). */
export interface AlertThresholds {
  /** P99 of the probe duration over 10 minutes, seconds (seed: API latency P99 > 500 ms). */
  latencyP99Seconds: number;
  /** Used share of a host filesystem (seed: disk usage > 80%). */
  diskUsedRatio: number;
  /** Used share of host memory. */
  memoryUsedRatio: number;
  /** Days before the earliest certificate of a probed site expires (seed: < 14 days). */
  certificateDays: number;
  /** Connections over max_connections (seed: > 80% of pool). */
  dbConnectionsRatio: number;
  /** Working set over the container's memory limit (seed: dev containers exceeding limits). */
  containerMemoryRatio: number;
  /** Share of CPU periods throttled by the container's CPU limit. */
  containerCpuThrottledRatio: number;
}

/**
 * The Makapix seed's thresholds (§10): P99 latency 0.5 s, disk 80%, memory 90%, certificates 14 days,
 * database connections 80%, container memory 90%, CPU throttling 50%.
 */
export const SEED_THRESHOLDS: AlertThresholds = {
  latencyP99Seconds: 0.5,
  diskUsedRatio: 0.8,
  memoryUsedRatio: 0.9,
  certificateDays: 14,
  dbConnectionsRatio: 0.8,
  containerMemoryRatio: 0.9,
  containerCpuThrottledRatio: 0.5,
};

/** Filesystems that are not disks: excluded from the disk alert. */
const NOT_DISKS = 'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|proc|sysfs|devtmpfs"';

/**
 * The alert rules file (YAML) for the thresholds: site down, slow, certificate expiring, disk, memory,
 * database connections, container memory and CPU throttling. Pure; checked by `promtool check rules`.
 * @throws RenderInvariantError when a ratio is not in (0, 1] or latency/certificate days is not positive.
 */
export function renderAlertRules(t: AlertThresholds): string {
  const ratio = (name: keyof AlertThresholds) => {
    if (!(t[name] > 0 && t[name] <= 1)) throw new RenderInvariantError(`alert rules: ${name} must be a fraction in (0, 1], got ${t[name]}`);
    return t[name];
  };
  if (!(t.latencyP99Seconds > 0)) throw new RenderInvariantError(`alert rules: latencyP99Seconds must be positive, got ${t.latencyP99Seconds}`);
  if (!(t.certificateDays > 0)) throw new RenderInvariantError(`alert rules: certificateDays must be positive, got ${t.certificateDays}`);
  const pct = (r: number) => `${Math.round(r * 100)}%`;
  const probe = `probe="${PROBE_JOB}"`;
  const rules = [
    {
      alert: "SiteDown",
      expr: `probe_success{${probe}} == 0`,
      for: "2m",
      labels: { severity: "critical" },
      annotations: { summary: "{{ $labels.instance }} does not answer as expected (status, TLS or timeout)" },
    },
    {
      alert: "SiteSlow",
      expr: `quantile_over_time(0.99, probe_duration_seconds{${probe}}[10m]) > ${t.latencyP99Seconds}`,
      for: "5m",
      labels: { severity: "warning" },
      annotations: { summary: `{{ $labels.instance }}: P99 latency over 10m is {{ $value | humanizeDuration }} (> ${t.latencyP99Seconds * 1000} ms)` },
    },
    {
      alert: "CertificateExpiresSoon",
      expr: `probe_ssl_earliest_cert_expiry{${probe}} - time() < ${t.certificateDays} * 86400`,
      labels: { severity: "warning" },
      annotations: { summary: `{{ $labels.instance }}: TLS certificate expires in {{ $value | humanizeDuration }} (< ${t.certificateDays} days)` },
    },
    {
      alert: "DiskUsageHigh",
      expr: `1 - node_filesystem_avail_bytes{${NOT_DISKS}} / node_filesystem_size_bytes{${NOT_DISKS}} > ${ratio("diskUsedRatio")}`,
      for: "5m",
      labels: { severity: "warning" },
      annotations: { summary: `{{ $labels.mountpoint }} is {{ $value | humanizePercentage }} full (> ${pct(t.diskUsedRatio)})` },
    },
    {
      alert: "MemoryUsageHigh",
      expr: `1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes > ${ratio("memoryUsedRatio")}`,
      for: "10m",
      labels: { severity: "warning" },
      annotations: { summary: `host memory {{ $value | humanizePercentage }} used (> ${pct(t.memoryUsedRatio)})` },
    },
    {
      alert: "DatabaseConnectionsHigh",
      expr: `sum by (instance) (pg_stat_database_numbackends) / on (instance) max by (instance) (pg_settings_max_connections) > ${ratio("dbConnectionsRatio")}`,
      for: "5m",
      labels: { severity: "warning" },
      annotations: { summary: `database connections at {{ $value | humanizePercentage }} of max_connections (> ${pct(t.dbConnectionsRatio)})` },
    },
    {
      alert: "ContainerMemoryNearLimit",
      // cAdvisor reports 0 for a container without a memory limit: only limited ones compare.
      expr: `container_memory_working_set_bytes{name!=""} / (container_spec_memory_limit_bytes{name!=""} > 0) > ${ratio("containerMemoryRatio")}`,
      for: "5m",
      labels: { severity: "warning" },
      annotations: { summary: `container {{ $labels.name }} ({{ $labels.container_label_twinstack_env }}) uses {{ $value | humanizePercentage }} of its memory limit` },
    },
    {
      alert: "ContainerCpuThrottled",
      expr: `rate(container_cpu_cfs_throttled_periods_total{name!=""}[5m]) / rate(container_cpu_cfs_periods_total{name!=""}[5m]) > ${ratio("containerCpuThrottledRatio")}`,
      for: "10m",
      labels: { severity: "warning" },
      annotations: {
        summary: `container {{ $labels.name }} ({{ $labels.container_label_twinstack_env }}) is throttled in {{ $value | humanizePercentage }} of CPU periods by its limit`,
      },
    },
  ];
  return YAML.stringify({ groups: [{ name: "twinstack", rules }] });
}
