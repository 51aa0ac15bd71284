// Monitoring of one env (Makapix §10): a Prometheus that probes every site of the stack through a
// blackbox exporter (HTTP status, latency, TLS certificate expiry), scrapes host metrics
// (node-exporter: disk, memory), container metrics (cAdvisor: usage against limits) and, when
// given a database, PostgreSQL (postgres_exporter: connections), evaluates the alert rules
// (components/render/prometheus.ts) and sends alerts through an Alertmanager to one receiver.
// Every part is a workload of the env (components/workload.ts), so both runtimes work; nothing is
// published on a host port: Prometheus is reached on the env network (or `docker exec`).
//
// Image facts (ports, paths, flags), from each project's documentation or Dockerfile:
// - prom/prometheus: ENTRYPOINT /bin/prometheus, config /etc/prometheus/prometheus.yml, data
//   /prometheus, port 9090, health /-/healthy; the CMD holds the flags, so setting the command
//   repeats --config.file and --storage.tsdb.path.
//   github.com/prometheus/prometheus/blob/main/Dockerfile,
//   prometheus.io/docs/prometheus/latest/management_api/
// - prom/alertmanager: ENTRYPOINT /bin/alertmanager, CMD --config.file=/etc/alertmanager/alertmanager.yml
//   --storage.path=/alertmanager, port 9093, health /-/healthy.
//   github.com/prometheus/alertmanager/blob/main/Dockerfile, prometheus.io/docs/alerting/latest/management_api/
// - prom/blackbox-exporter: ENTRYPOINT /bin/blackbox_exporter, CMD --config.file=/etc/blackbox_exporter/config.yml,
//   port 9115. github.com/prometheus/blackbox_exporter/blob/master/Dockerfile
// - prom/node-exporter: port 9100; in a container, the host's root bind-mounted read-only at /host
//   with --path.rootfs=/host (README "Docker": -v "/:/host:ro,rslave" ... --path.rootfs=/host).
//   github.com/prometheus/node_exporter#docker
// - gcr.io/cadvisor/cadvisor: port 8080; read-only binds /:/rootfs, /var/run, /sys, /var/lib/docker/,
//   /dev/disk/ (README "Quick Start"); without --privileged it drops the stats that need it
//   (docs/running.md). --docker_only, and --store_container_labels=false with
//   --whitelisted_container_labels to turn only twinstack.env/role into metric labels
//   (container_label_twinstack_env). github.com/google/cadvisor/blob/master/docs/runtime_options.md
// - quay.io/prometheuscommunity/postgres-exporter: port 9187, connection from DATA_SOURCE_NAME.
//   github.com/prometheus-community/postgres_exporter#quick-start
// The prom/* and postgres-exporter images are built FROM quay.io/prometheus/busybox-${OS}-${ARCH}
// (their Dockerfiles): busybox wget serves the health checks; prometheus and alertmanager run as
// USER nobody. cAdvisor's label flags are defined in its cmd/cadvisor.go ("store_container_labels",
// "whitelisted_container_labels: ... store_container_labels must be set to false").
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { AlertReceiver, renderAlertmanagerConfig } from "./render/alertmanager";
import { MODULE_AUTH, MODULE_OK, renderBlackboxConfig } from "./render/blackbox";
import { AlertThresholds, ProbeGroup, renderAlertRules, renderPrometheusConfig } from "./render/prometheus";
import { Runtime, WorkloadLimits, WorkloadSpec, declareWorkload } from "./workload";
import { LABELS } from "../model/labels";
import { MONITORING_PORTS } from "../model/ports";

/**
 * Image references of the monitoring parts (defaults: model/images.ts MONITORING_IMAGES; the facts the
 * program relies on, with sources, are in this file's header).
 */
export interface MonitoringImages {
  prometheus: string;
  alertmanager: string;
  blackbox: string;
  nodeExporter: string;
  cadvisor: string;
  postgresExporter: string;
}

/** One URL the blackbox exporter probes (HTTP GET) and what answer counts as up. */
export interface ProbeTarget {
  url: string;
  /** "2xx": must answer 2xx; "401": behind basic auth, must refuse an anonymous probe. */
  expect: "2xx" | "401";
}

/** Arguments of {@link Monitoring}. */
export interface MonitoringArgs {
  /** Physical name prefix carrying the env token, e.g. makapix-prod. */
  namePrefix: string;
  /** "standalone" (containers) or "swarm" (services), as the rest of the env. */
  runtime: Runtime;
  /** Docker provider the workloads are declared through (the env's main host / Swarm manager). */
  provider: docker.Provider;
  /** The env network: the parts find each other on it by alias (prometheus, alertmanager, blackbox, ...). */
  networkName: pulumi.Input<string>;
  /** External labels of every series and alert, e.g. { env: "prod", stack: "prod" }. */
  externalLabels: Record<string, string>;
  /** Labels of every workload (env, stack, host); the role label is added here. */
  labels?: Record<string, pulumi.Input<string>>;
  /** The env's sites to probe (see {@link siteProbeTargets}); may be empty. */
  probes: ProbeTarget[];
  /** Sites with certificates no public CA signed (selfsigned / internal TLS): verify nothing, still read expiry. */
  insecureTls: boolean;
  /** Alert thresholds (components/render/prometheus.ts AlertThresholds: seconds, ratios 0..1, days). */
  thresholds: AlertThresholds;
  /** Prometheus scrape and rule evaluation interval, seconds (the config allows 5 to 300, default 30). */
  scrapeIntervalSeconds: number;
  /** Days of metrics Prometheus keeps (`--storage.tsdb.retention.time=<n>d`; config default 15). */
  retentionDays: number;
  /** Where Alertmanager sends alerts: a webhook URL or an email via a smarthost (its password a secret). */
  receiver: pulumi.Input<AlertReceiver>;
  /** Hours before a still-firing alert is sent again (config default 4). */
  repeatIntervalHours: number;
  /** Connection URL of the env's database (secret): adds postgres_exporter. */
  databaseUrl?: pulumi.Input<string>;
  /** Images of the six parts. */
  images: MonitoringImages;
  /** Limits of each part (CPUs, MiB); absent: unlimited (non-prod stacks pass their default limits). */
  limits?: WorkloadLimits;
  /** Swarm placement of the workloads with volumes or host binds (their data is node-local). */
  pinnedConstraints?: string[];
  /** Protect the Prometheus data volume (prod). */
  protect?: boolean;
}

/** USER nobody of the prom/* images, uid 65534 in their busybox base. */
const NOBODY = 65534;
// The monitoring images' ports, on the env network only (model/ports.ts MONITORING_PORTS, cited there).
/** Prometheus's HTTP port in its container (model/ports.ts MONITORING_PORTS.prometheus). */
export const PROMETHEUS_PORT = MONITORING_PORTS.prometheus;
const ALERTMANAGER_PORT = MONITORING_PORTS.alertmanager;
const BLACKBOX_PORT = MONITORING_PORTS.blackbox;
const NODE_EXPORTER_PORT = MONITORING_PORTS.nodeExporter;
const CADVISOR_PORT = MONITORING_PORTS.cadvisor;
const POSTGRES_EXPORTER_PORT = MONITORING_PORTS.postgresExporter;

/** The probe targets of a stack's sites; pure, so the program and tests agree on them. */
export function siteProbeTargets(a: {
  domains: string[];
  siteDomains: string[];
  vault?: { domain: string; plainHttp: boolean };
  httpPort: number;
  httpsPort: number;
  healthPath: string;
  authRequired: boolean;
}): ProbeTarget[] {
  const expect = a.authRequired ? "401" : "2xx";
  const https = a.httpsPort === 443 ? "" : `:${a.httpsPort}`;
  const http = a.httpPort === 80 ? "" : `:${a.httpPort}`;
  const concrete = (d: string) => !d.startsWith("*.");
  const targets: ProbeTarget[] = [
    ...a.domains.filter(concrete).map((d) => ({ url: `https://${d}${https}${a.healthPath}`, expect }) as ProbeTarget),
    ...a.siteDomains.filter(concrete).map((d) => ({ url: `https://${d}${https}/`, expect }) as ProbeTarget),
  ];
  if (a.vault) targets.push({ url: a.vault.plainHttp ? `http://${a.vault.domain}${http}/` : `https://${a.vault.domain}${https}/`, expect });
  return targets.filter((t, i) => targets.findIndex((u) => u.url === t.url) === i);
}

/**
 * Monitoring of one env: Prometheus, Alertmanager, blackbox exporter, node-exporter, cAdvisor and
 * (with `databaseUrl`) postgres_exporter, each a workload `<namePrefix>-<part>` on the env network,
 * none published on a host port. Type token `twinstack:index:Monitoring`. Children: `${name}-<part>`
 * workloads and the Prometheus data volume.
 * @example
 * new Monitoring("prod-monitoring", {
 *   namePrefix: "makapix-prod", runtime: "standalone", provider, networkName,
 *   externalLabels: { env: "prod", stack: "prod" },
 *   probes: siteProbeTargets({ domains: ["makapix.club"], siteDomains: [], httpPort: 80, httpsPort: 443, healthPath: "/healthz", authRequired: false }),
 *   insecureTls: false, thresholds, scrapeIntervalSeconds: 30, retentionDays: 15,
 *   receiver: { kind: "webhook", url: "https://alerts.example.com/hook" }, repeatIntervalHours: 4,
 *   images: MONITORING_IMAGES,
 * }, { parent: this });
 */
export class Monitoring extends pulumi.ComponentResource {
  /** Physical name of the Prometheus workload; its API answers on the env network at prometheus:9090. */
  readonly prometheusName: string;
  readonly prometheusConfig: string;
  readonly alertRules: string;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("twinstack:index:Monitoring", name, {}, opts);
    const prefix = args.namePrefix;
    const ctx = { runtime: args.runtime, provider: args.provider, parent: this };
    const onNet = (alias: string) => ({ name: args.networkName, aliases: [alias] });
    const put = (part: string, spec: Omit<WorkloadSpec, "name" | "role" | "labels" | "limits">) =>
      declareWorkload(
        `${name}-${part}`,
        { name: `${prefix}-${part}`, role: "monitoring", labels: { ...(args.labels ?? {}), [LABELS.monitoring]: part }, limits: args.limits, ...spec },
        ctx,
      );
    const pinned = args.runtime === "swarm" ? args.pinnedConstraints : undefined;
    const wget = (port: number, path: string) => ({ test: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${port}${path}`] });

    const byExpectation = (expect: ProbeTarget["expect"]) => args.probes.filter((p) => p.expect === expect).map((p) => p.url);
    const probes: ProbeGroup[] = [
      { module: MODULE_OK, targets: byExpectation("2xx") },
      { module: MODULE_AUTH, targets: byExpectation("401") },
    ];
    this.alertRules = renderAlertRules(args.thresholds);
    this.prometheusConfig = renderPrometheusConfig({
      scrapeIntervalSeconds: args.scrapeIntervalSeconds,
      externalLabels: args.externalLabels,
      alertmanager: `alertmanager:${ALERTMANAGER_PORT}`,
      ruleFiles: ["/etc/prometheus/rules.yml"],
      blackbox: { address: `blackbox:${BLACKBOX_PORT}`, probes },
      scrapeJobs: [
        { job: "node", targets: [`node-exporter:${NODE_EXPORTER_PORT}`] },
        { job: "cadvisor", targets: [`cadvisor:${CADVISOR_PORT}`] },
        ...(args.databaseUrl ? [{ job: "postgres", targets: [`postgres-exporter:${POSTGRES_EXPORTER_PORT}`] }] : []),
      ],
    });

    const data = new docker.Volume(
      `${name}-prometheus-data`,
      { name: `${prefix}-prometheus-data`, labels: [{ label: LABELS.env, value: String(args.externalLabels.env ?? "") }] },
      { parent: this, provider: args.provider, protect: args.protect ?? false },
    );
    this.prometheusName = `${prefix}-prometheus`;
    put("prometheus", {
      image: args.images.prometheus,
      command: ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", `--storage.tsdb.retention.time=${args.retentionDays}d`],
      network: onNet("prometheus"),
      volumes: [{ volumeName: data.name, path: "/prometheus" }],
      files: [
        { path: "/etc/prometheus/prometheus.yml", content: this.prometheusConfig },
        { path: "/etc/prometheus/rules.yml", content: this.alertRules },
      ],
      healthcheck: wget(PROMETHEUS_PORT, "/-/healthy"),
      constraints: pinned,
    });

    // The receiver may hold a webhook token or an SMTP password: a secret file.
    const alertmanagerConfig = pulumi.output(args.receiver).apply((receiver) => renderAlertmanagerConfig({ receiver, repeatIntervalHours: args.repeatIntervalHours }));
    put("alertmanager", {
      image: args.images.alertmanager,
      command: ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"],
      network: onNet("alertmanager"),
      // The image runs as nobody (65534): a Swarm secret (0400) must be its own to be read.
      files: [{ path: "/etc/alertmanager/alertmanager.yml", content: pulumi.secret(alertmanagerConfig), secret: true, owner: { uid: NOBODY, gid: NOBODY } }],
      healthcheck: wget(ALERTMANAGER_PORT, "/-/healthy"),
    });

    put("blackbox", {
      image: args.images.blackbox,
      command: ["--config.file=/etc/blackbox_exporter/config.yml"],
      network: onNet("blackbox"),
      files: [{ path: "/etc/blackbox_exporter/config.yml", content: renderBlackboxConfig({ timeoutSeconds: 10, insecureSkipVerify: args.insecureTls }) }],
    });

    // Not --net=host/--pid=host as the README runs it: it stays on the env network (no host port).
    // Disk figures still come from the host's root under /host, and /proc/meminfo is not namespaced,
    // so memory is the host's; network and process figures are the container's own.
    put("node-exporter", {
      image: args.images.nodeExporter,
      command: ["--path.rootfs=/host"],
      network: onNet("node-exporter"),
      binds: [{ hostPath: "/", path: "/host", readOnly: true }],
      constraints: pinned,
    });

    put("cadvisor", {
      image: args.images.cadvisor,
      command: ["--docker_only=true", "--store_container_labels=false", `--whitelisted_container_labels=${LABELS.env},${LABELS.role}`],
      network: onNet("cadvisor"),
      binds: [
        { hostPath: "/", path: "/rootfs", readOnly: true },
        { hostPath: "/var/run", path: "/var/run", readOnly: true },
        { hostPath: "/sys", path: "/sys", readOnly: true },
        { hostPath: "/var/lib/docker/", path: "/var/lib/docker", readOnly: true },
        { hostPath: "/dev/disk/", path: "/dev/disk", readOnly: true },
      ],
      constraints: pinned,
    });

    if (args.databaseUrl) {
      put("postgres-exporter", {
        image: args.images.postgresExporter,
        env: pulumi.secret(pulumi.output(args.databaseUrl).apply((url) => [`DATA_SOURCE_NAME=${url}`])),
        network: onNet("postgres-exporter"),
      });
    }

    this.registerOutputs({ prometheusName: this.prometheusName });
  }
}
