import * as fs from "fs";
import * as path from "path";
import { claimText, stackClaims, findClashes, claimsClash, machineOf } from "../../model/claims";
import { stackConfigSchema } from "../../model/schema";
import { readProgramStackConfig } from "../../policy/programConfig";
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
        redis: { mode: "shared", url: "redis://app:hunter2@r.lan:6379" },
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
    // The server, never the URL's user and password: violations quote claims, and plans are posted on PRs.
    expect(byKind("redisPrefix")).toEqual(["r.lan:6379/0|prod: <- twinstack:redis.prefix"]);
    expect(JSON.stringify(claims)).not.toContain("hunter2");
    // Messages show a Redis claim as the prefix on its server.
    expect(claimText(claims.find((c) => c.kind === "redisPrefix")!)).toBe('"prod:" on r.lan:6379/0');
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
    expect(claims.map((c) => `${c.kind} ${c.value}`)).toEqual([
      "database db:5432/gigi_preview_feat_x",
      "role db:5432/gigi_preview_feat_x",
      'previewSlug feat-x on dev stack "dev"',
    ]);
  });

  it("two previews of one dev stack for the same branch clash on its slug, whatever their stack names", () => {
    const named = stackClaims(parse({ env: "preview" }), { stack: "preview-feature-xyz" });
    const keyed = stackClaims(parse({ env: "preview", preview: { branch: "feature-xyz" } }), { stack: "pr-42" });
    expect(findClashes(named, keyed).map((c) => `${c.mine.kind} ${c.mine.value} <- ${c.theirs.key}`)).toEqual([
      'previewSlug feature-xyz on dev stack "dev" <- twinstack:preview.branch',
    ]);
    // The dev stack named with its organization is the same dev stack.
    const qualified = stackClaims(parse({ env: "preview", preview: { branch: "feature-xyz", devStack: "acme/gigi/dev" } }), { stack: "pr-43" });
    expect(findClashes(named, qualified)).toHaveLength(1);
    // Another branch, or the same branch on another dev stack, is another preview.
    expect(findClashes(named, stackClaims(parse({ env: "preview" }), { stack: "preview-feature-abc" }))).toEqual([]);
    expect(findClashes(named, stackClaims(parse({ env: "preview", preview: { devStack: "dev2" } }), { stack: "preview-feature-xyz" }))).toEqual([]);
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

describe("reading the other stack files for their claims", () => {
  const root = path.join(__dirname, "../..");
  const stackFiles = [root, ...fs.readdirSync(path.join(root, "examples")).map((d) => path.join(root, "examples", d))].flatMap((dir) =>
    fs
      .readdirSync(dir)
      .filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f))
      .map((f) => path.join(dir, f)),
  );
  const stackOf = (file: string) => path.basename(file).replace(/^Pulumi\.(.+)\.yaml$/, "$1");

  it("gives the config a full read gives, for every stack file of the repo", () => {
    expect(stackFiles.length).toBeGreaterThan(10);
    for (const file of stackFiles) {
      const full = readProgramStackConfig(file, stackOf(file), file, "full");
      const claims = readProgramStackConfig(file, stackOf(file), file, "claims");
      expect(full.config).toBeDefined();
      expect(claims.config).toEqual(full.config);
      expect(claims.values).toEqual(full.values);
    }
  });

  it("gives a full read's config or problems for files the schema or a cross-field rule rejects", () => {
    const dir = project({
      "Pulumi.unknown.yaml": "config:\n  twinstack:env: dev\n  twinstack:postgres:\n    mode: shared\n    hots: 10.0.0.20\n",
      "Pulumi.staging.yaml": "config:\n  twinstack:env: staging\n",
      "Pulumi.prod.yaml": PROD_YAML.replace("  twinstack:pgAdmin:\n    secure: v1:abc\n", ""),
      "Pulumi.preview-x.yaml": "config:\n  twinstack:env: dev\n",
    });
    for (const stack of ["unknown", "staging", "prod", "preview-x"]) {
      const file = path.join(dir, `Pulumi.${stack}.yaml`);
      const full = readProgramStackConfig(file, stack, `Pulumi.${stack}.yaml`, "full");
      const claims = readProgramStackConfig(file, stack, `Pulumi.${stack}.yaml`, "claims");
      expect(full.problems).not.toEqual([]);
      expect(claims.config).toEqual(full.config);
      // Where there is no config to compare, the problems are the full read's, naming file and key.
      if (full.config === undefined) expect(claims.problems).toEqual(full.problems);
      else expect(claims.problems).toEqual([]);
    }
    expect(readProgramStackConfig(path.join(dir, "Pulumi.staging.yaml"), "staging", "Pulumi.staging.yaml", "claims").config).toBeUndefined();
    expect(readProgramStackConfig(path.join(dir, "Pulumi.prod.yaml"), "prod", "Pulumi.prod.yaml", "claims").config).toBeDefined();
  });

  it("hands each read its own config object", () => {
    const file = path.join(root, "examples/gigi/Pulumi.preview-feature-xyz.yaml");
    const a = readProgramStackConfig(file, "preview-feature-xyz", file, "claims").config!;
    a.domains.push("changed.example.com");
    const b = readProgramStackConfig(file, "preview-feature-xyz", file, "claims").config!;
    expect(b.domains).not.toContain("changed.example.com");
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

  it("does not compare a stack with its own Pulumi.<stack>.yaml when planned from another file (--config)", () => {
    const dir = project({ "Pulumi.prod.yaml": PROD_YAML, "Pulumi.dev.yaml": DEV_YAML, "dev-scratch.yaml": DEV_YAML });
    expect(of(run([stackRoot("dev")], { stack: "dev", dir, stackFile: path.join(dir, "dev-scratch.yaml") }), POLICY)).toEqual([]);
    // Another stack holding the same text still clashes.
    const other = project({ "Pulumi.qa.yaml": DEV_YAML, "dev-scratch.yaml": DEV_YAML });
    expect(of(run([stackRoot("dev")], { stack: "dev", dir: other, stackFile: path.join(other, "dev-scratch.yaml") }), POLICY).length).toBeGreaterThan(0);
  });

  it("fails closed when a sibling stack file does not validate", () => {
    const dir = devProdProject({ "Pulumi.staging.yaml": "config:\n  twinstack:env: staging\n" });
    const messages = of(run([stackRoot("prod")], { stack: "prod", dir }), POLICY).map((v) => v.message);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/^cannot compare with stack "staging": Pulumi.staging.yaml does not validate/);
  });

  it("names the file and key when a sibling has an unknown key, as a full read does", () => {
    const dir = devProdProject({ "Pulumi.staging.yaml": "config:\n  twinstack:env: dev\n  twinstack:postgres:\n    mode: shared\n    hots: 10.0.0.20\n" });
    const messages = of(run([stackRoot("prod")], { stack: "prod", dir }), POLICY).map((v) => v.message);
    expect(messages).toEqual([
      'cannot compare with stack "staging": Pulumi.staging.yaml does not validate (Pulumi.staging.yaml: twinstack:postgres.hots: unknown key (did you mean "host"?)): ' +
        "fix that file so the stacks' isolation can be checked",
    ]);
  });

  it("still compares a sibling that only fails a cross-field rule (its missing secret), as before", () => {
    const vip = "  twinstack:vip:\n    mode: keepalived\n    address: 10.0.0.50\n    routerId: 50\n";
    const hosts = "  twinstack:hosts:\n    - name: n1\n      docker: ssh://deploy@10.0.0.5\n      address: 10.0.0.5\n";
    // prod names pgAdmin as its admin password key but does not set it: the full validation rejects
    // the file, the schema accepts it, and its VIP is still compared.
    const prod = PROD_YAML.replace("  twinstack:pgAdmin:\n    secure: v1:abc\n", "") + vip;
    const dev = DEV_YAML.replace(/  twinstack:hosts:\n(    .*\n)+?(?=  twinstack:app)/, hosts) + vip;
    const dir = project({ "Pulumi.prod.yaml": prod, "Pulumi.dev.yaml": dev });
    const messages = of(run([stackRoot("dev")], { stack: "dev", dir }), POLICY).map((v) => v.message);
    expect(messages).toContain(
      'stack "dev" claims VIP 10.0.0.50 (twinstack:vip.address in Pulumi.dev.yaml), which stack "prod" also claims (twinstack:vip.address in Pulumi.prod.yaml): give "dev" its own value in twinstack:vip.address',
    );
    expect(messages.some((m) => m.includes("does not validate"))).toBe(false);
  });

  it("names each of two sibling stack files with the same text in its own violations", () => {
    // Same text, read once: the claims are still each stack's own, named by its file.
    const dir = project({ "Pulumi.dev.yaml": DEV_YAML, "Pulumi.qa1.yaml": DEV_YAML, "Pulumi.qa2.yaml": DEV_YAML });
    const messages = of(run([stackRoot("dev")], { stack: "dev", dir }), POLICY).map((v) => v.message);
    for (const other of ["qa1", "qa2"]) {
      expect(messages).toContain(
        `stack "dev" claims domain dev.gigi.casa (twinstack:domains[0] in Pulumi.dev.yaml), which stack "${other}" also claims (twinstack:domains[0] in Pulumi.${other}.yaml): give "dev" its own value in twinstack:domains[0]`,
      );
    }
    const count = (other: string) => messages.filter((m) => m.includes(`stack "${other}"`)).length;
    expect(count("qa1")).toBeGreaterThan(1);
    expect(count("qa1")).toBe(count("qa2"));
  });

  it("sees a sibling's new claim when the file changes between two runs of one process", () => {
    const dir = devProdProject({
      "Pulumi.qa.yaml": DEV_YAML.replace("twinstack:env: dev", "twinstack:env: prod")
        .replace("dev.gigi.casa", "qa.gigi.casa")
        .replace(/Port: \d+/g, "Port: 9999"),
    });
    const before = of(run([stackRoot("dev")], { stack: "dev", dir }), POLICY).map((v) => v.message);
    expect(before.filter((m) => m.includes('stack "qa"'))).toEqual([]);
    fs.writeFileSync(path.join(dir, "Pulumi.qa.yaml"), fs.readFileSync(path.join(dir, "Pulumi.qa.yaml"), "utf8").replace("qa.gigi.casa", "dev.gigi.casa"));
    const after = of(run([stackRoot("dev")], { stack: "dev", dir }), POLICY).map((v) => v.message);
    expect(after.some((m) => m.startsWith('stack "dev" claims domain dev.gigi.casa') && m.includes('stack "qa" also claims'))).toBe(true);
  });
});
