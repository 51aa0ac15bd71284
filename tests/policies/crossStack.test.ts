import * as path from "path";
import { stackClaims, findClashes, claimsClash, machineOf } from "../../model/claims";
import { stackConfigSchema } from "../../model/schema";
import { cleanupProjects, DEV_YAML, devProdProject, of, PROD_YAML, project, run, stackRoot } from "./helpers";

const POLICY = "no-shared-claims";
afterAll(cleanupProjects);

const parse = (raw: Record<string, unknown>) => stackConfigSchema.parse(raw);

describe("stackClaims", () => {
  it("derives every kind of claim with its config key", () => {
    const claims = stackClaims(
      parse({
        env: "prod",
        runtime: "standalone",
        domains: ["gigi.casa"],
        hosts: [{ name: "a", docker: "ssh://deploy@10.0.0.5", address: "10.0.0.5" }],
        app: { name: "gigi", image: "x@sha256:" + "a".repeat(64), publishPort: 3000 },
        postgres: { mode: "shared", host: "db.lan", port: 5432, adminPasswordKey: "pw" },
        redis: { mode: "shared", url: "redis://r.lan:6379" },
        mqtt: { enabled: true, port: 8883 },
        vault: { enabled: true, domain: "vault.gigi.casa", hostPath: "/mnt/vault-1" },
        vip: { mode: "keepalived", address: "10.0.0.50", routerId: 50 },
        proxy: { sites: [{ domains: ["www.gigi.casa"] }] },
        tenants: [{ name: "t", domains: ["cocotte.maison"], orgs: [{ org: "cocotte", tld: "maison" }], templates: ["ai.{org}.{tld}"] }],
      }),
    );
    const byKind = (kind: string) => claims.filter((c) => c.kind === kind).map((c) => `${c.value} <- ${c.key}`);
    expect(byKind("vip")).toEqual(["10.0.0.50 <- twinstack:vip.address"]);
    expect(byKind("routerId")).toEqual(["ssh://deploy@10.0.0.5|50 <- twinstack:vip.routerId"]);
    expect(byKind("hostPort")).toEqual([
      "ssh://deploy@10.0.0.5|10.0.0.50:80 <- twinstack:proxy.httpPort",
      "ssh://deploy@10.0.0.5|10.0.0.50:443 <- twinstack:proxy.httpsPort",
      "ssh://deploy@10.0.0.5|127.0.0.1:20050 <- twinstack:vip.routerId",
      "ssh://deploy@10.0.0.5|0.0.0.0:3000 <- twinstack:app.publishPort",
    ]);
    expect(byKind("mqttPort")).toEqual(["ssh://deploy@10.0.0.5|0.0.0.0:8883 <- twinstack:mqtt.port"]);
    expect(byKind("database")).toEqual(["db.lan:5432/gigi_prod <- twinstack:app.name"]);
    expect(byKind("role")).toEqual(["db.lan:5432/gigi_prod <- twinstack:app.name"]);
    expect(byKind("redisPrefix")).toEqual(["redis://r.lan:6379|prod: <- twinstack:redis.url"]);
    expect(byKind("volumePath")).toEqual(["ssh://deploy@10.0.0.5|/mnt/vault-1 <- twinstack:vault.hostPath"]);
    expect(byKind("domain")).toEqual([
      "gigi.casa <- twinstack:domains[0]",
      "www.gigi.casa <- twinstack:proxy.sites[0].domains[0]",
      "cocotte.maison <- twinstack:tenants[0].domains[0]",
      "ai.cocotte.maison <- twinstack:tenants[0].templates[0]",
      "vault.gigi.casa <- twinstack:vault.domain",
    ]);
  });

  it("a preview claims only its own database, named by its slug", () => {
    const claims = stackClaims(parse({ env: "preview", app: { name: "gigi", image: "x:1" }, postgres: { mode: "shared", host: "db", adminPasswordKey: "pw" } }), {
      stack: "preview-feat-x",
    });
    expect(claims.map((c) => `${c.kind} ${c.value}`)).toEqual(["database db:5432/gigi_preview_feat_x", "role db:5432/gigi_preview_feat_x"]);
  });

  it("ports clash on one machine when addresses overlap; router ids only on a shared host", () => {
    const port = (value: string) => ({ kind: "hostPort" as const, value, key: "k" });
    expect(claimsClash(port("ssh://deploy@10.0.0.5|0.0.0.0:443"), port("ssh://root@10.0.0.5:22|10.0.0.51:443"))).toBe(true);
    expect(claimsClash(port("ssh://deploy@10.0.0.5|10.0.0.50:443"), port("ssh://deploy@10.0.0.5|10.0.0.51:443"))).toBe(false);
    expect(claimsClash(port("ssh://deploy@10.0.0.5|0.0.0.0:443"), port("ssh://deploy@10.0.0.6|0.0.0.0:443"))).toBe(false);
    expect(claimsClash(port("unix:///var/run/docker.sock|0.0.0.0:8883"), { kind: "mqttPort", value: "unix:///run/docker.sock|0.0.0.0:8883", key: "k" })).toBe(true);
    const rid = (value: string) => ({ kind: "routerId" as const, value, key: "k" });
    expect(claimsClash(rid("ssh://a@10.0.0.5|50"), rid("ssh://b@10.0.0.5|50"))).toBe(true);
    expect(claimsClash(rid("ssh://a@10.0.0.5|50"), rid("ssh://b@10.0.0.9|50"))).toBe(false);
    expect(machineOf("tcp://10.0.0.5:2376")).toBe(machineOf("ssh://deploy@10.0.0.5"));
    expect(findClashes([port("ssh://a@h|0.0.0.0:80")], [port("ssh://a@h|0.0.0.0:80"), port("ssh://a@h|0.0.0.0:80")])).toHaveLength(1);
  });
});

describe("no-shared-claims (rule 2)", () => {
  it("passes distinct dev and prod stacks", () => {
    const dir = devProdProject();
    expect(of(run([stackRoot("dev")], { stack: "dev", dir }), POLICY)).toEqual([]);
    expect(of(run([stackRoot("prod")], { stack: "prod", dir }), POLICY)).toEqual([]);
  });

  it("names both stacks, the value and the keys when dev takes prod's VIP", () => {
    const vip = (address: string, id: number) => `  twinstack:vip:\n    mode: keepalived\n    address: ${address}\n    routerId: ${id}\n`;
    const hosts = "  twinstack:hosts:\n    - name: n1\n      docker: ssh://deploy@10.0.0.5\n      address: 10.0.0.5\n";
    const prod = PROD_YAML.replace(/  twinstack:hosts:\n(    .*\n)+?(?=  twinstack:app)/, hosts) + vip("10.0.0.50", 50);
    const dev = DEV_YAML.replace(/  twinstack:hosts:\n(    .*\n)+?(?=  twinstack:app)/, hosts) + vip("10.0.0.50", 50);
    const dir = project({ "Pulumi.prod.yaml": prod, "Pulumi.dev.yaml": dev });
    const messages = of(run([stackRoot("dev")], { stack: "dev", dir }), POLICY).map((v) => v.message);
    expect(messages).toContain(
      'stack "dev" claims VIP 10.0.0.50 (twinstack:vip.address in Pulumi.dev.yaml), which stack "prod" also claims (twinstack:vip.address in Pulumi.prod.yaml): give "dev" its own value in twinstack:vip.address',
    );
    expect(messages.some((m) => m.includes("VRRP router id ssh://deploy@10.0.0.5|50"))).toBe(true);
  });

  it("catches a shared host port and reads the siblings of a --config file", () => {
    const dev = DEV_YAML.replace("docker: unix:///var/run/docker.sock", "docker: ssh://deploy@10.0.0.5").replace("httpsPort: 8443", "httpsPort: 443");
    const dir = project({ "examples/seed/Pulumi.prod.yaml": PROD_YAML, "examples/seed/Pulumi.dev.yaml": dev });
    const violations = of(run([stackRoot("dev")], { stack: "dev", dir, stackFile: path.join(dir, "examples/seed/Pulumi.dev.yaml") }), POLICY);
    expect(violations.map((v) => v.message)).toEqual([
      'stack "dev" claims published host port ssh://deploy@10.0.0.5|0.0.0.0:443 (twinstack:proxy.httpsPort in examples/seed/Pulumi.dev.yaml), which stack "prod" also claims (twinstack:proxy.httpsPort in examples/seed/Pulumi.prod.yaml): give "dev" its own value in twinstack:proxy.httpsPort',
    ]);
  });

  it("flags a stack whose config env contradicts its name, and the database it would share", () => {
    const shared = "  twinstack:postgres:\n    mode: shared\n    host: 10.0.0.20\n    adminPasswordKey: pgAdmin\n  twinstack:pgAdmin:\n    secure: v1:x\n";
    const dev = DEV_YAML.replace("twinstack:env: dev", "twinstack:env: prod").replace(/  twinstack:postgres:\n    mode: dedicated\n    publishPort: 15432\n/, shared);
    const dir = project({ "Pulumi.prod.yaml": PROD_YAML, "Pulumi.dev.yaml": dev });
    const messages = of(run([stackRoot("dev")], { stack: "dev", dir }), POLICY).map((v) => v.message);
    expect(messages[0]).toBe('stack "dev" sets twinstack:env "prod" in Pulumi.dev.yaml, but a stack named "dev" is dev: set twinstack:env: dev');
    expect(messages.some((m) => m.startsWith('stack "dev" claims database 10.0.0.20:5432/gigi_prod') && m.includes('stack "prod"'))).toBe(true);
  });

  it("fails closed when a sibling stack file does not validate", () => {
    const dir = devProdProject({ "Pulumi.staging.yaml": "config:\n  twinstack:env: staging\n" });
    const messages = of(run([stackRoot("prod")], { stack: "prod", dir }), POLICY).map((v) => v.message);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/^cannot compare with stack "staging": Pulumi.staging.yaml does not validate/);
  });
});
