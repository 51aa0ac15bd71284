// The monitoring renderers (components/render/prometheus.ts, alertmanager.ts, blackbox.ts) checked
// by the real programs (Debian packages prometheus, prometheus-alertmanager,
// prometheus-blackbox-exporter): promtool check config / check rules / test rules with the seed's
// thresholds, amtool check-config, the exporter's --config.check; then a real Prometheus, blackbox
// exporter and Alertmanager on loopback probing a real Caddy that serves a certificate valid for
// 2 days (fires the < 14 days alert) and one valid for 60 days (does not), until Prometheus reports
// the alert firing and the Alertmanager hands it to a webhook.
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import YAML from "yaml";
import { renderAlertRules, renderPrometheusConfig, SEED_THRESHOLDS } from "../../components/render/prometheus";
import { MODULE_AUTH, MODULE_OK, renderBlackboxConfig } from "../../components/render/blackbox";
import { renderAlertmanagerConfig } from "../../components/render/alertmanager";
import { startCaddy, RunningCaddy } from "./caddy";
import { Daemon, describeRun, freePort, makeSelfSigned, removeDir, requireBinary, run, startDaemon, tmpDir, waitForTcp } from "./util";

let dir: string;
// The live scenario (last describe) starts here, beside the config checks: Prometheus 2.42 starts
// scraping a new target only at its scrape manager's reload tick, every 5 s and not configurable
// in that version (prometheus/prometheus scrape/manager.go, reloader(); `prometheus --help-long`
// of Debian's 2.42 has no flag for it), so the test waits ~5 s after Prometheus starts whatever
// it does; the checks above run in that time.
let live: Promise<LiveSetup>;
const daemons: Daemon[] = [];
const caddies: RunningCaddy[] = [];
let webhook: http.Server | undefined;
beforeAll(() => {
  dir = tmpDir("twinstack-monitoring-");
  live = startLive();
  live.catch(() => undefined); // awaited by the live test; a failure surfaces there
});
afterAll(async () => {
  await live?.catch(() => undefined);
  for (const d of daemons) await d.stop();
  for (const c of caddies) await c.stop();
  await new Promise((r) => (webhook ? webhook.close(r) : r(undefined)));
  removeDir(dir);
});

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

async function ok(cmd: string, args: string[]) {
  const r = await run(requireBinary(cmd, cmd === "amtool" ? "prometheus-alertmanager" : cmd === "promtool" ? "prometheus" : cmd), args, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(describeRun(`${cmd} ${args.join(" ")}`, r));
  return r;
}

const prometheusArgs = (rulesFile: string) => ({
  scrapeIntervalSeconds: 30,
  externalLabels: { env: "prod", stack: "prod" },
  alertmanager: "alertmanager:9093",
  ruleFiles: [rulesFile],
  blackbox: {
    address: "blackbox:9115",
    probes: [
      { module: MODULE_OK, targets: ["https://makapix.club/api/health", "http://vault.makapix.club/"] },
      { module: MODULE_AUTH, targets: ["https://development.makapix.club/"] },
    ],
  },
  scrapeJobs: [
    { job: "node", targets: ["node-exporter:9100"] },
    { job: "cadvisor", targets: ["cadvisor:8080"] },
    { job: "postgres", targets: ["postgres-exporter:9187"] },
  ],
});

describe("rendered configs pass the real tools", () => {
  test("promtool check rules and check config accept the rules and prometheus.yml", async () => {
    const rules = write("rules.yml", renderAlertRules(SEED_THRESHOLDS));
    await ok("promtool", ["check", "rules", rules]);
    const config = write("prometheus.yml", renderPrometheusConfig(prometheusArgs(rules)));
    const r = await ok("promtool", ["check", "config", config]);
    expect(r.stdout + r.stderr).toMatch(/SUCCESS: 8 rules found/);
  });

  test("amtool check-config accepts the webhook and the email receiver", async () => {
    const webhook = write("am-webhook.yml", renderAlertmanagerConfig({ receiver: { kind: "webhook", url: "https://hooks.example.com/t/abc" }, repeatIntervalHours: 4 }));
    expect((await ok("amtool", ["check-config", webhook])).stdout).toMatch(/Found:[\s\S]*- 1 receivers/);
    const email = write(
      "am-email.yml",
      renderAlertmanagerConfig({
        receiver: { kind: "email", to: "ops@makapix.club", from: "alerts@makapix.club", smarthost: "smtp.example.com:587", username: "alerts", password: "pw", requireTls: true },
        repeatIntervalHours: 4,
      }),
    );
    await ok("amtool", ["check-config", email]);
  });

  test("amtool rejects what the renderer must never produce (the check can fail)", async () => {
    const bad = write(
      "am-bad.yml",
      renderAlertmanagerConfig({ receiver: { kind: "webhook", url: "https://hooks.example.com/" }, repeatIntervalHours: 4 }).replace("receiver: twinstack", "receiver: nobody"),
    );
    const r = await run(requireBinary("amtool", "prometheus-alertmanager"), ["check-config", bad]);
    expect(r.code).not.toBe(0);
  });

  test("the blackbox exporter accepts its config", async () => {
    const file = write("blackbox.yml", renderBlackboxConfig({ timeoutSeconds: 10, insecureSkipVerify: true }));
    await ok("prometheus-blackbox-exporter", ["--config.check", `--config.file=${file}`]);
  });
});

describe("promtool test rules: the seed's thresholds (Makapix §10)", () => {
  // One alert per case: the series just over the threshold fires, the one just under does not.
  const site = (instance: string) => ({ probe: "blackbox", instance, job: "blackbox-http_2xx" });
  const labelText = (labels: Record<string, string>) =>
    Object.entries(labels)
      .map(([k, v]) => `${k}="${v}"`)
      .join(",");
  const series = (name: string, labels: Record<string, string>, values: string) => ({ series: `${name}{${labelText(labels)}}`, values });
  const fs_ = (mountpoint: string) => ({ instance: "node-exporter:9100", job: "node", mountpoint, fstype: "ext4", device: "/dev/sda1" });
  const ctr = (name: string) => ({ instance: "cadvisor:8080", job: "cadvisor", name, container_label_twinstack_env: "dev" });

  const cases = [
    {
      alert: "CertificateExpiresSoon",
      summary: "https://a.example/: TLS certificate expires in 13d 0h 0m 0s (< 14 days)",
      at: "10m",
      // time() is 600 at 10m: expiry 13 days ahead fires, 15 days does not.
      input: [
        series("probe_ssl_earliest_cert_expiry", site("https://a.example/"), `${600 + 13 * 86400}x20`),
        series("probe_ssl_earliest_cert_expiry", site("https://b.example/"), `${600 + 15 * 86400}x20`),
      ],
      fires: [{ ...site("https://a.example/"), severity: "warning" }],
    },
    {
      alert: "SiteSlow",
      summary: "https://slow.example/: P99 latency over 10m is 600ms (> 500 ms)",
      at: "20m",
      input: [series("probe_duration_seconds", site("https://slow.example/"), "0.6x30"), series("probe_duration_seconds", site("https://fast.example/"), "0.4x30")],
      fires: [{ ...site("https://slow.example/"), severity: "warning" }],
    },
    {
      alert: "SiteDown",
      summary: "https://down.example/ does not answer as expected (status, TLS or timeout)",
      at: "5m",
      input: [series("probe_success", site("https://down.example/"), "0x10"), series("probe_success", site("https://up.example/"), "1x10")],
      fires: [{ ...site("https://down.example/"), severity: "critical" }],
    },
    {
      alert: "DiskUsageHigh",
      summary: "/ is 85% full (> 80%)",
      at: "10m",
      input: [
        series("node_filesystem_size_bytes", fs_("/"), "100x20"),
        series("node_filesystem_avail_bytes", fs_("/"), "15x20"),
        series("node_filesystem_size_bytes", fs_("/data"), "100x20"),
        series("node_filesystem_avail_bytes", fs_("/data"), "25x20"),
      ],
      fires: [{ ...fs_("/"), severity: "warning" }],
    },
    {
      alert: "DatabaseConnectionsHigh",
      summary: "database connections at 85% of max_connections (> 80%)",
      at: "10m",
      input: [
        series("pg_stat_database_numbackends", { instance: "pg-a:9187", job: "postgres", datname: "makapix_prod" }, "70x20"),
        series("pg_stat_database_numbackends", { instance: "pg-a:9187", job: "postgres", datname: "postgres" }, "15x20"),
        series("pg_settings_max_connections", { instance: "pg-a:9187", job: "postgres", server: "db:5432" }, "100x20"),
        series("pg_stat_database_numbackends", { instance: "pg-b:9187", job: "postgres", datname: "x" }, "75x20"),
        series("pg_settings_max_connections", { instance: "pg-b:9187", job: "postgres", server: "db:5432" }, "100x20"),
      ],
      fires: [{ instance: "pg-a:9187", severity: "warning" }],
    },
    {
      alert: "ContainerMemoryNearLimit",
      summary: "container makapix-dev-app (dev) uses 96% of its memory limit",
      at: "10m",
      input: [
        series("container_memory_working_set_bytes", ctr("makapix-dev-app"), "480x20"),
        series("container_spec_memory_limit_bytes", ctr("makapix-dev-app"), "500x20"),
        series("container_memory_working_set_bytes", ctr("makapix-dev-redis"), "400x20"),
        series("container_spec_memory_limit_bytes", ctr("makapix-dev-redis"), "500x20"),
        // No limit (0): never compared.
        series("container_memory_working_set_bytes", ctr("makapix-prod-app"), "900x20"),
        series("container_spec_memory_limit_bytes", ctr("makapix-prod-app"), "0x20"),
      ],
      fires: [{ ...ctr("makapix-dev-app"), severity: "warning" }],
    },
    {
      alert: "ContainerCpuThrottled",
      summary: "container makapix-dev-worker-celery (dev) is throttled in 60% of CPU periods by its limit",
      at: "20m",
      input: [
        series("container_cpu_cfs_periods_total", ctr("makapix-dev-worker-celery"), "0+100x30"),
        series("container_cpu_cfs_throttled_periods_total", ctr("makapix-dev-worker-celery"), "0+60x30"),
        series("container_cpu_cfs_periods_total", ctr("makapix-dev-app"), "0+100x30"),
        series("container_cpu_cfs_throttled_periods_total", ctr("makapix-dev-app"), "0+40x30"),
      ],
      fires: [{ ...ctr("makapix-dev-worker-celery"), severity: "warning" }],
    },
    {
      alert: "MemoryUsageHigh",
      summary: "host memory 95% used (> 90%)",
      at: "20m",
      input: [
        series("node_memory_MemAvailable_bytes", { instance: "node-exporter:9100", job: "node" }, "5x30"),
        series("node_memory_MemTotal_bytes", { instance: "node-exporter:9100", job: "node" }, "100x30"),
      ],
      fires: [{ instance: "node-exporter:9100", job: "node", severity: "warning" }],
    },
  ];

  test("every alert fires just over its threshold and not just under it", async () => {
    const rules = write("seed-rules.yml", renderAlertRules(SEED_THRESHOLDS));
    const rendered = YAML.parse(fs.readFileSync(rules, "utf8"))
      .groups[0].rules.map((r: { alert: string }) => r.alert)
      .sort();
    expect(cases.map((c) => c.alert).sort()).toEqual(rendered);
    const tests = cases.map((c) => ({
      interval: "1m",
      input_series: c.input,
      alert_rule_test: [{ eval_time: c.at, alertname: c.alert, exp_alerts: c.fires.map((labels) => ({ exp_labels: labels, exp_annotations: { summary: c.summary } })) }],
    }));
    const file = write("seed-rules.test.yml", YAML.stringify({ rule_files: [rules], evaluation_interval: "1m", tests }));
    const r = await run(requireBinary("promtool", "prometheus"), ["test", "rules", file], { timeoutMs: 60_000 });
    expect(describeRun("promtool test rules", r)).toMatch(/SUCCESS/);
  });

  test("promtool test rules fails when the thresholds are not the seed's (the test can fail)", async () => {
    const rules = write("loose-rules.yml", renderAlertRules({ ...SEED_THRESHOLDS, certificateDays: 10 }));
    const tests = [
      {
        interval: "1m",
        input_series: cases[0].input,
        alert_rule_test: [
          { eval_time: cases[0].at, alertname: cases[0].alert, exp_alerts: cases[0].fires.map((l) => ({ exp_labels: l, exp_annotations: { summary: cases[0].summary } })) },
        ],
      },
    ];
    const file = write("loose-rules.test.yml", YAML.stringify({ rule_files: [rules], evaluation_interval: "1m", tests }));
    const r = await run(requireBinary("promtool", "prometheus"), ["test", "rules", file], { timeoutMs: 60_000 });
    expect(r.code).not.toBe(0);
  });
});

interface LiveSetup {
  shortPort: number;
  longPort: number;
  prometheusPort: number;
  prometheus: Daemon;
  /** Bodies the webhook received so far. */
  received: string[];
}

const selfSigned = (name: string, days: number) => makeSelfSigned(dir, name, { days, extensions: ["subjectAltName=IP:127.0.0.1"] });

/** Two Caddy sites (2-day and 60-day certificates), the webhook, blackbox exporter, Alertmanager and Prometheus, listening. */
async function startLive(): Promise<LiveSetup> {
  const [shortPort, longPort, blackboxPort, prometheusPort, alertmanagerPort, webhookPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  // One Caddy per certificate: both sites are 127.0.0.1 (no SNI), so one Caddy would pick one certificate for both.
  // The two sites (certificate, then Caddy) come up side by side, beside the exporter and Alertmanager below.
  const site = async (name: string, days: number, port: number, text: string) => {
    const cert = await selfSigned(name, days);
    const caddy = await startCaddy([`https://127.0.0.1:${port} {`, `\ttls ${cert.certFile} ${cert.keyFile}`, `\trespond "${text}" 200`, "}", ""].join("\n"));
    caddies.push(caddy);
  };
  const sites = Promise.all([site("short-lived", 2, shortPort, "short"), site("long-lived", 60, longPort, "long")]);
  void sites.catch(() => undefined); // awaited below; a failure surfaces there

  const received: string[] = [];
  webhook = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push(body);
      res.end();
    });
  });
  await new Promise<void>((r) => webhook!.listen(webhookPort, "127.0.0.1", r));

  const blackboxFile = write("live-blackbox.yml", renderBlackboxConfig({ timeoutSeconds: 5, insecureSkipVerify: true }));
  daemons.push(startDaemon(requireBinary("prometheus-blackbox-exporter"), [`--config.file=${blackboxFile}`, `--web.listen-address=127.0.0.1:${blackboxPort}`]));
  const amFile = write(
    "live-alertmanager.yml",
    renderAlertmanagerConfig({ receiver: { kind: "webhook", url: `http://127.0.0.1:${webhookPort}/alerts` }, repeatIntervalHours: 1, groupWaitSeconds: 1 }),
  );
  const amData = path.join(dir, "am-data");
  fs.mkdirSync(amData);
  daemons.push(
    startDaemon(requireBinary("prometheus-alertmanager"), [
      `--config.file=${amFile}`,
      `--storage.path=${amData}`,
      `--web.listen-address=127.0.0.1:${alertmanagerPort}`,
      "--cluster.listen-address=",
    ]),
  );
  // Prometheus probes the sites from its first scrape on: both serve before it starts.
  await sites;
  const rules = write("live-rules.yml", renderAlertRules(SEED_THRESHOLDS));
  const promFile = write(
    "live-prometheus.yml",
    renderPrometheusConfig({
      // 2 s: the probe's timeout follows the scrape timeout (= the interval here), minus 0.5 s.
      scrapeIntervalSeconds: 2,
      evaluationIntervalSeconds: 1,
      externalLabels: { env: "prod", stack: "prod" },
      alertmanager: `127.0.0.1:${alertmanagerPort}`,
      ruleFiles: [rules],
      blackbox: { address: `127.0.0.1:${blackboxPort}`, probes: [{ module: MODULE_OK, targets: [`https://127.0.0.1:${shortPort}/`, `https://127.0.0.1:${longPort}/`] }] },
      scrapeJobs: [],
    }),
  );
  const tsdb = path.join(dir, "tsdb");
  fs.mkdirSync(tsdb);
  const prometheus = startDaemon(requireBinary("prometheus"), [`--config.file=${promFile}`, `--storage.tsdb.path=${tsdb}`, `--web.listen-address=127.0.0.1:${prometheusPort}`]);
  daemons.push(prometheus);
  await Promise.all([waitForTcp(blackboxPort), waitForTcp(alertmanagerPort), waitForTcp(prometheusPort, "127.0.0.1", 20_000)]);
  return { shortPort, longPort, prometheusPort, prometheus, received };
}

describe("a real Prometheus + blackbox exporter + Alertmanager against a real Caddy", () => {
  test("the certificate-expiry alert fires for the 2-day certificate only and reaches the webhook", async () => {
    const { shortPort, longPort, prometheusPort, prometheus, received } = await live;
    const getJson = (port: number, p: string) =>
      new Promise<any>((resolve, reject) =>
        http
          .get({ host: "127.0.0.1", port, path: p }, (res) => {
            let body = "";
            res.on("data", (c) => (body += c));
            res.on("end", () => {
              try {
                resolve(JSON.parse(body));
              } catch (e) {
                reject(e);
              }
            });
          })
          .on("error", reject),
      );

    // Bounded wait: the rule has no `for`, so it fires on the first evaluation after a probe.
    // Prometheus listens before it is ready (503 until the TSDB is up): ask /-/ready first.
    const deadline = Date.now() + 60_000;
    const ready = () =>
      new Promise<number>((resolve) =>
        http.get({ host: "127.0.0.1", port: prometheusPort, path: "/-/ready" }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on("error", () => resolve(0)),
      );
    while ((await ready()) !== 200) {
      if (Date.now() > deadline) throw new Error(`prometheus not ready after 60 s:\n${prometheus.output().slice(-1500)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    let firing: any[] = [];
    while (Date.now() < deadline) {
      const alerts = (await getJson(prometheusPort, "/api/v1/alerts")).data.alerts as any[];
      firing = alerts.filter((a) => a.labels.alertname === "CertificateExpiresSoon" && a.state === "firing");
      const probed = (await getJson(prometheusPort, "/api/v1/query?query=probe_ssl_earliest_cert_expiry")).data.result.length;
      // Both sites probed (and one more rule evaluation since), the alert delivered: done.
      if (probed === 2 && firing.length && received.some((b) => b.includes("CertificateExpiresSoon"))) {
        // One more evaluation of the rule that started after both probes were queryable (its group's
        // lastEvaluation, RFC 3339, from /api/v1/rules: https://prometheus.io/docs/prometheus/latest/querying/api/#rules),
        // so a firing alert for the long-lived site would show too.
        const bothProbed = Date.now();
        const evaluatedSince = async () =>
          ((await getJson(prometheusPort, "/api/v1/rules")).data.groups as any[]).some(
            (g) => g.rules.some((r: any) => r.name === "CertificateExpiresSoon") && Date.parse(g.lastEvaluation) > bothProbed,
          );
        while (!(await evaluatedSince())) {
          if (Date.now() > deadline) throw new Error(`no rule evaluation after both probes within 60 s:\n${prometheus.output().slice(-1500)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        firing = ((await getJson(prometheusPort, "/api/v1/alerts")).data.alerts as any[]).filter((a) => a.labels.alertname === "CertificateExpiresSoon" && a.state === "firing");
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const targets = firing.length
      ? undefined
      : (await getJson(prometheusPort, "/api/v1/targets")).data.activeTargets.map((t: any) => `${t.labels.instance}: ${t.health} ${t.lastError}`);
    const diagnostics = `targets: ${JSON.stringify(targets)}\nwebhook got ${received.length}\nprometheus:\n${prometheus.output().slice(-1500)}`;
    expect({ firing: firing.map((a) => a.labels.instance), diagnostics: firing.length ? "" : diagnostics }).toEqual({
      firing: [`https://127.0.0.1:${shortPort}/`],
      diagnostics: "",
    });
    expect(firing[0].labels).toMatchObject({ severity: "warning", probe: "blackbox" });
    // Both sites answered 200 over TLS: the probes themselves succeed.
    const success = (await getJson(prometheusPort, "/api/v1/query?query=probe_success")).data.result as any[];
    expect(success.map((s) => [s.metric.instance, s.value[1]]).sort()).toEqual(
      [
        [`https://127.0.0.1:${longPort}/`, "1"],
        [`https://127.0.0.1:${shortPort}/`, "1"],
      ].sort(),
    );
    // The Alertmanager delivered it to the webhook, with the env's external labels.
    const delivered = received
      .map((b) => JSON.parse(b))
      .flatMap((m) => m.alerts as any[])
      .filter((a) => a.labels.alertname === "CertificateExpiresSoon");
    expect(delivered.map((a) => a.labels.instance)).toContain(`https://127.0.0.1:${shortPort}/`);
    expect(delivered[0].labels).toMatchObject({ env: "prod", stack: "prod" });
    expect(delivered.map((a) => a.labels.instance)).not.toContain(`https://127.0.0.1:${longPort}/`);
  }, 120_000);
});
