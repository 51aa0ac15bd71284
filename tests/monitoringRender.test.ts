// The monitoring renderers as pure functions (the real tools check them in
// tests/consumers/monitoring.test.ts).
import YAML from "yaml";
import { PROBE_JOB, renderAlertRules, renderPrometheusConfig, SEED_THRESHOLDS } from "../components/render/prometheus";
import { MODULE_AUTH, MODULE_OK, renderBlackboxConfig } from "../components/render/blackbox";
import { renderAlertmanagerConfig } from "../components/render/alertmanager";

const base = {
  scrapeIntervalSeconds: 30,
  externalLabels: { env: "prod", stack: "prod" },
  alertmanager: "alertmanager:9093",
  ruleFiles: ["/etc/prometheus/rules.yml"],
  blackbox: {
    address: "blackbox:9115",
    probes: [
      { module: MODULE_OK, targets: ["https://makapix.club/api/health"] },
      { module: MODULE_AUTH, targets: [] },
    ],
  },
  scrapeJobs: [{ job: "node", targets: ["node-exporter:9100"] }],
};

describe("renderPrometheusConfig", () => {
  it("probes every target through the blackbox exporter, labelled as a probe, and skips empty groups", () => {
    const config = YAML.parse(renderPrometheusConfig(base));
    expect(config.global).toEqual({ scrape_interval: "30s", evaluation_interval: "30s", external_labels: { env: "prod", stack: "prod" } });
    expect(config.alerting.alertmanagers[0].static_configs[0].targets).toEqual(["alertmanager:9093"]);
    const jobs = config.scrape_configs.map((j: { job_name: string }) => j.job_name);
    expect(jobs).toEqual(["prometheus", "node", `${PROBE_JOB}-${MODULE_OK}`]);
    const probe = config.scrape_configs[2];
    expect(probe.params).toEqual({ module: [MODULE_OK] });
    expect(probe.static_configs).toEqual([{ targets: ["https://makapix.club/api/health"], labels: { probe: PROBE_JOB } }]);
    expect(probe.relabel_configs[2]).toEqual({ target_label: "__address__", replacement: "blackbox:9115" });
  });

  it("rejects targets and names Prometheus would reject or misread", () => {
    expect(() => renderPrometheusConfig({ ...base, alertmanager: "http://am" })).toThrow(/host:port/);
    expect(() => renderPrometheusConfig({ ...base, scrapeJobs: [{ job: "bad job", targets: [] }] })).toThrow(/invalid job name/);
    expect(() => renderPrometheusConfig({ ...base, blackbox: { address: "blackbox:9115", probes: [{ module: MODULE_OK, targets: ["makapix.club"] }] } })).toThrow(/http\(s\) URL/);
  });
});

describe("renderAlertRules", () => {
  it("carries the seed's thresholds (P99 > 500 ms, disk > 80%, connections > 80%, certificate < 14 days)", () => {
    const rules = YAML.parse(renderAlertRules(SEED_THRESHOLDS)).groups[0].rules as { alert: string; expr: string }[];
    const expr = (name: string) => rules.find((r) => r.alert === name)!.expr;
    expect(expr("SiteSlow")).toMatch(/quantile_over_time\(0\.99, probe_duration_seconds\{probe="blackbox"\}\[10m\]\) > 0\.5$/);
    expect(expr("DiskUsageHigh")).toMatch(/> 0\.8$/);
    expect(expr("DatabaseConnectionsHigh")).toMatch(/> 0\.8$/);
    expect(expr("CertificateExpiresSoon")).toBe('probe_ssl_earliest_cert_expiry{probe="blackbox"} - time() < 14 * 86400');
  });

  it("rejects a ratio outside (0, 1]", () => {
    expect(() => renderAlertRules({ ...SEED_THRESHOLDS, diskUsedRatio: 80 })).toThrow(/diskUsedRatio must be a fraction/);
  });
});

describe("renderBlackboxConfig", () => {
  it("has a 2xx module and a 401 module for sites behind basic auth", () => {
    const config = YAML.parse(renderBlackboxConfig({ timeoutSeconds: 10 }));
    expect(config.modules[MODULE_OK].http.valid_status_codes).toEqual([]);
    expect(config.modules[MODULE_AUTH].http.valid_status_codes).toEqual([401]);
    expect(config.modules[MODULE_OK].http.tls_config).toBeUndefined();
    expect(YAML.parse(renderBlackboxConfig({ timeoutSeconds: 10, insecureSkipVerify: true })).modules[MODULE_OK].http.tls_config).toEqual({ insecure_skip_verify: true });
  });
});

describe("renderAlertmanagerConfig", () => {
  it("routes everything to one webhook or email receiver", () => {
    const webhook = YAML.parse(renderAlertmanagerConfig({ receiver: { kind: "webhook", url: "https://hooks.example.com/x" }, repeatIntervalHours: 4 }));
    expect(webhook.route).toMatchObject({ receiver: "twinstack", repeat_interval: "4h", group_wait: "30s" });
    expect(webhook.receivers).toEqual([{ name: "twinstack", webhook_configs: [{ url: "https://hooks.example.com/x", send_resolved: true }] }]);
    const email = YAML.parse(
      renderAlertmanagerConfig({ receiver: { kind: "email", to: "ops@x.org", from: "a@x.org", smarthost: "smtp.x.org:587", requireTls: true }, repeatIntervalHours: 4 }),
    );
    expect(email.receivers[0].email_configs[0]).toEqual({ to: "ops@x.org", from: "a@x.org", smarthost: "smtp.x.org:587", require_tls: true, send_resolved: true });
  });

  it("rejects a receiver Alertmanager could not use", () => {
    expect(() => renderAlertmanagerConfig({ receiver: { kind: "webhook", url: "" }, repeatIntervalHours: 4 })).toThrow(/one word/);
    expect(() => renderAlertmanagerConfig({ receiver: { kind: "email", to: "ops", from: "a@x.org", smarthost: "smtp:587", requireTls: true }, repeatIntervalHours: 4 })).toThrow(
      /addresses/,
    );
  });
});
