// The seed systems (../shared/seeds, DESIGN.md "Seed systems") as stack configurations under
// examples/: every stack file plans clean through the same planStack `npm run plan` uses, and each
// system's plan shows what makes it that system. Each example is planned once and shared.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { PlannedResource, SecretValue, byType } from "./harness";
import { StackPlan, planStack } from "../tools/planner";
import { workloadLabels } from "../policy/lib/resources";
import { shQuote } from "../components/render/scriptFile";

/** How release.ts writes a list setting: each word single-quoted, the list quoted again. */
const shellQuoteWords = (words: string[]) => shQuote(words.map(shQuote).join(" "));

const root = path.join(__dirname, "..");
const examplesDir = path.join(root, "examples");

const exampleFiles = fs
  .readdirSync(examplesDir)
  .sort()
  .flatMap((system) =>
    fs
      .readdirSync(path.join(examplesDir, system))
      .filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f))
      .sort()
      .map((f) => ({ system, stack: f.replace(/^Pulumi\.(.+)\.yaml$/, "$1"), file: path.join(examplesDir, system, f) })),
  );

const plans = new Map<string, StackPlan>();
const plan = (system: string, stack: string): StackPlan => {
  const found = plans.get(`${system}/${stack}`);
  if (!found) throw new Error(`no plan for ${system}/${stack}`);
  return found;
};

beforeAll(async () => {
  for (const { system, stack, file } of exampleFiles) plans.set(`${system}/${stack}`, await planStack({ stack, stackFile: file, projectDir: root }));
}, 300_000);

// ---- reading a plan ----
const CONTAINER = "docker:index/container:Container";
const SERVICE = "docker:index/service:Service";
const workloads = (p: StackPlan) => p.resources.filter((r) => r.type === CONTAINER || r.type === SERVICE);
const labels = (r: PlannedResource): Record<string, string> => workloadLabels(r.type, r.props);
const role = (p: StackPlan, name: string) => workloads(p).filter((r) => labels(r)["twinstack.role"] === name);
const only = <T>(list: T[], what: string): T => {
  if (list.length !== 1) throw new Error(`expected one ${what}, found ${list.length}`);
  return list[0];
};
const envOf = (r: PlannedResource): Record<string, string> => {
  if (r.type === SERVICE) return ((r.props.taskSpec as any).containerSpec.env ?? {}) as Record<string, string>;
  return Object.fromEntries(((r.props.envs as string[]) ?? []).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
};
const publishedPorts = (r: PlannedResource): { internal: number; external: number; ip?: string }[] =>
  r.type === SERVICE
    ? (((r.props.endpointSpec as any)?.ports ?? []) as any[]).map((p) => ({ internal: p.targetPort, external: p.publishedPort }))
    : ((r.props.ports as any[]) ?? []).map((p) => ({ internal: p.internal, external: p.external, ip: p.ip }));
const limitsOf = (r: PlannedResource) =>
  r.type === SERVICE
    ? { cpus: Number((r.props.taskSpec as any).resources?.limits?.nanoCpus ?? 0) / 1e9, memoryMb: Number((r.props.taskSpec as any).resources?.limits?.memoryBytes ?? 0) / 1048576 }
    : { cpus: Number(r.props.cpus ?? 0), memoryMb: Number(r.props.memory ?? 0) };
const caddyfile = (p: StackPlan) => String(p.outputs.caddyfile);
/** The Caddyfile's site blocks by address ("http://vault.makapix.club"), each with its body. */
const sites = (p: StackPlan): Map<string, string> => {
  const out = new Map<string, string>();
  for (const block of caddyfile(p).split(/\n(?=\S)/)) {
    const m = /^([^\s{][^{\n]*) \{\n([^]*)$/.exec(block.trim());
    if (m) for (const address of m[1].split(", ")) out.set(address, m[2]);
  }
  return out;
};
const names = (p: StackPlan, type: string) => byType(p.resources, type).map((r) => r.props.name);

describe("every example stack", () => {
  it("covers each seed system with a prod and a dev stack", () => {
    const systems = [...new Set(exampleFiles.map((e) => e.system))];
    expect(systems).toEqual(["cocotte", "gigi", "lugh", "makapix", "twincigo"]);
    for (const system of systems) expect(exampleFiles.filter((e) => e.system === system).map((e) => e.stack)).toEqual(expect.arrayContaining(["dev", "prod"]));
  });

  it.each(exampleFiles.map((e) => [`${e.system}/${e.stack}`, e] as const))("%s plans with zero mandatory policy violations", (_label, e) => {
    const p = plan(e.system, e.stack);
    expect(p.resources.length).toBeGreaterThanOrEqual(5);
    expect(p.violations.filter((v) => v.enforcementLevel === "mandatory")).toEqual([]);
    // The only advisory finding: makapix's vaults serve IoT players over plain HTTP, as the seed decides.
    for (const v of p.violations) {
      expect(v.policy).toBe("sites-use-tls");
      expect(v.message).toMatch(/http:\/\/vault(-dev)?\.makapix\.club/);
    }
  });
});

describe("per-env secrets of every example", () => {
  const stackFile = (file: string) => YAML.parse(fs.readFileSync(file, "utf8")).config as Record<string, any>;

  it.each(exampleFiles.filter((e) => stackFile(e.file)["twinstack:app"]?.secretEnv).map((e) => [`${e.system}/${e.stack}`, e] as const))(
    "%s: each secretEnv variable reaches the app, whose environment is a secret; the stack file holds only secure: values",
    (_label, e) => {
      const config = stackFile(e.file);
      const secretEnv = config["twinstack:app"].secretEnv as Record<string, string>;
      const app = only(role(plan(e.system, e.stack), "app"), "app");
      const env = envOf(app);
      const raw = app.type === SERVICE ? (app.inputs.taskSpec as any).containerSpec.env : app.inputs.envs;
      expect(raw).toBeInstanceOf(SecretValue);
      for (const [variable, key] of Object.entries(secretEnv)) {
        expect(env[variable]).toBe("plan-placeholder-secret");
        expect(config[`twinstack:${key}`]).toEqual({ secure: expect.any(String) });
      }
    },
  );
});

describe("gigi (seed 000): a Swarm on a LAN, keepalived VIP per env, path routing, previews", () => {
  const keepalived = (stack: string) => role(plan("gigi", stack), "keepalived");

  it("holds .51 (prod) and .52 (dev) with distinct VRRP router ids, on every node", () => {
    for (const [stack, vip, routerId] of [
      ["prod", "192.168.1.51", "51"],
      ["dev", "192.168.1.52", "52"],
    ]) {
      const nodes = keepalived(stack);
      expect(nodes.map((r) => labels(r)["twinstack.host"])).toEqual(["turing1", "turing2", "turing3", "turing4"]);
      for (const r of nodes) expect(labels(r)).toMatchObject({ "twinstack.vip": vip, "twinstack.vrrp-router-id": routerId });
    }
    const ids = (stack: string) => new Set(keepalived(stack).map((r) => labels(r)["twinstack.vrrp-router-id"]));
    expect([...ids("prod")].some((id) => ids("dev").has(id))).toBe(false);
    expect(plan("gigi", "prod").outputs.vip).toBe("192.168.1.51");
    expect(plan("gigi", "dev").outputs.vip).toBe("192.168.1.52");
  });

  it("routes /gitea/, /browser/ and /ws on the dev Caddy, with its own self-signed certificate, basic auth, noindex and previews", () => {
    const dev = caddyfile(plan("gigi", "dev"));
    expect(dev).toMatch(/^dev\.gigi\.casa \{/m);
    expect(dev).toContain("tls /etc/caddy/certs/dev.gigi.casa.crt /etc/caddy/certs/dev.gigi.casa.key");
    expect(dev).toMatch(/@route\d path \/gitea \/gitea\/\*\n\thandle @route\d \{\n\t\turi strip_prefix \/gitea\n\t\treverse_proxy gitea:3000/);
    expect(dev).toMatch(/@route\d path \/browser \/browser\/\*\n\thandle @route\d \{\n\t\turi strip_prefix \/browser\n\t\treverse_proxy browser:3000/);
    expect(dev).toMatch(/@route\d path \/ws \/ws\/\*\n\thandle @route\d \{\n\t\treverse_proxy app:3001/);
    expect(dev).toContain('X-Robots-Tag "noindex, nofollow"');
    expect(dev).toMatch(/basicauth \{\n\t\tmauro \$2/);
    expect(dev).toContain("import /etc/caddy/previews/*.caddy");
    expect(plan("gigi", "dev").outputs.caCertificate).toMatch(/BEGIN CERTIFICATE/);
    const prod = caddyfile(plan("gigi", "prod"));
    expect(prod).toMatch(/^gigi\.casa \{/m);
    expect(prod).not.toContain("basicauth");
  });

  it("runs Gitea, its runner and a browser per env as Swarm services, and Gitea's SSH through the ingress mesh on its own port", () => {
    for (const stack of ["prod", "dev"]) {
      const p = plan("gigi", stack);
      for (const r of ["app", "gitea", "runner", "browser"]) expect(role(p, r).map((w) => w.type)).toEqual([SERVICE]);
      expect(only(role(p, "gitea"), "gitea").props.name).toBe(`gigi-${stack}-gitea`);
      // The rootless image's built-in SSH server listens on 2222 (model/images.ts).
      expect(publishedPorts(only(role(p, "gitea"), "gitea"))).toEqual([{ internal: 2222, external: stack === "prod" ? 2222 : 2223 }]);
    }
  });

  it("serves each env on its own VIP from a proxy container on every node, so prod and dev share the nodes' 80/443", () => {
    for (const [stack, vip, routerId] of [
      ["prod", "192.168.1.51", 51],
      ["dev", "192.168.1.52", 52],
    ] as const) {
      const proxies = role(plan("gigi", stack), "proxy");
      expect(proxies.map((r) => r.type)).toEqual(Array(4).fill(CONTAINER));
      expect(proxies.map((r) => labels(r)["twinstack.host"]).sort()).toEqual(["turing1", "turing2", "turing3", "turing4"]);
      for (const proxy of proxies) {
        expect(publishedPorts(proxy)).toEqual([
          { internal: 80, external: 80, ip: vip },
          { internal: 443, external: 443, ip: vip },
          // keepalived's track port, really on loopback (a Swarm service could not bind it there).
          { internal: 80, external: 20000 + routerId, ip: "127.0.0.1" },
        ]);
      }
      // No Swarm service of either env publishes 80 or 443 (it would bind every address of every node).
      for (const service of workloads(plan("gigi", stack)).filter((r) => r.type === SERVICE)) {
        expect(publishedPorts(service).map((p) => p.external)).not.toEqual(expect.arrayContaining([80]));
        expect(publishedPorts(service).map((p) => p.external)).not.toEqual(expect.arrayContaining([443]));
      }
    }
  });

  it("keeps one database per env on the shared Postgres, reached on databases_default", () => {
    for (const stack of ["prod", "dev"]) {
      const p = plan("gigi", stack);
      expect(names(p, "postgresql:index/database:Database")).toEqual([`gigi_${stack}`]);
      const app = only(role(p, "app"), "app");
      expect(((app.props.taskSpec as any).networksAdvanceds as { name: string }[]).map((n) => n.name)).toEqual([`gigi-${stack}-net`, "databases_default"]);
      expect(envOf(app).DATABASE_URL).toContain(`@postgres:5432/gigi_${stack}`);
    }
  });

  it("has a preview stack: its own database on the shared server and a route on every node's dev proxy", () => {
    const p = plan("gigi", "preview-feature-xyz");
    expect(names(p, "postgresql:index/database:Database")).toEqual(["gigi_preview_feature_xyz"]);
    // The dev proxy runs on each of the four VIP nodes; whichever holds the VIP must serve the route.
    const routes = byType(p.resources, "command:local:Command");
    expect(routes.map((r) => (r.props.environment as Record<string, string>).DOCKER_HOST).sort()).toEqual([
      "ssh://deploy@192.168.1.11",
      "ssh://deploy@192.168.1.12",
      "ssh://deploy@192.168.1.13",
      "ssh://deploy@192.168.1.14",
    ]);
    expect(routes.map((r) => r.name).sort()).toEqual(["preview-route", "preview-route-1", "preview-route-2", "preview-route-3"]);
  });
});

describe("lugh (seed 001): one server, prod :3000 and staging :3001, shared Postgres and Redis", () => {
  it("publishes prod on 3000 and dev (staging) on 3001, with no proxy", () => {
    for (const [stack, port] of [
      ["prod", 3000],
      ["dev", 3001],
    ] as const) {
      const p = plan("lugh", stack);
      expect(publishedPorts(only(role(p, "app"), "app"))).toEqual([{ internal: 3000, external: port, ip: "0.0.0.0" }]);
      expect(byType(p.resources, "twinstack:index:ReverseProxy")).toEqual([]);
      expect(role(p, "proxy")).toEqual([]);
    }
  });

  it("shares one Postgres (a database per env) and one Redis (a prefix per env)", () => {
    for (const stack of ["prod", "dev"]) {
      const p = plan("lugh", stack);
      expect(names(p, "postgresql:index/database:Database")).toEqual([`lugh_${stack}`]);
      expect(role(p, "postgres")).toEqual([]);
      expect(role(p, "redis")).toEqual([]);
      const env = envOf(only(role(p, "app"), "app"));
      expect(env).toMatchObject({ REDIS_URL: "redis://lugh-redis:6379", REDIS_PREFIX: `${stack}:` });
    }
  });

  it("runs bun run migrate once per release before the new bot, on the shared databases network", () => {
    for (const stack of ["prod", "dev"]) {
      const p = plan("lugh", stack);
      const run = only(
        byType(p.resources, "command:local:Command").filter((c) => c.name.endsWith("-release-run")),
        "release task",
      );
      const script = String(run.props.create);
      expect(script).toContain(`\ncommand=${shellQuoteWords(["bun", "run", "migrate"])}\n`);
      expect(script).toContain("\nextra_networks='lugh-shared'\n");
      expect(only(role(p, "app"), "app").dependencies).toContain(run.urn);
    }
  });

  it("gives each env its own bot token (secret) and feature flags", () => {
    const prod = only(role(plan("lugh", "prod"), "app"), "app");
    const dev = only(role(plan("lugh", "dev"), "app"), "app");
    expect(prod.inputs.envs).toBeInstanceOf(SecretValue);
    expect(envOf(prod)).toMatchObject({
      FEATURE_AGENT_POOL: "false",
      FEATURE_REDIS_MESSAGING: "false",
      FEATURE_SIMULATION_LAYER: "false",
      BOT_DISPLAY_NAME: "Lugh",
      LUGH_HOME: "/.lugh-prod",
    });
    expect(envOf(dev)).toMatchObject({
      FEATURE_AGENT_POOL: "true",
      FEATURE_REDIS_MESSAGING: "true",
      FEATURE_SIMULATION_LAYER: "true",
      BOT_DISPLAY_NAME: "Lugh Dev",
      LUGH_HOME: "/.lugh-staging",
    });
    const stackFile = (stack: string) => YAML.parse(fs.readFileSync(path.join(examplesDir, "lugh", `Pulumi.${stack}.yaml`), "utf8")).config;
    expect(stackFile("prod")["twinstack:app"].secretEnv.TELEGRAM_BOT_TOKEN).toBe("telegramBotTokenProd");
    expect(stackFile("dev")["twinstack:app"].secretEnv.TELEGRAM_BOT_TOKEN).toBe("telegramBotTokenStaging");
    expect(stackFile("dev")["twinstack:telegramBotTokenStaging"]).toHaveProperty("secure");
  });
});

describe("cocotte (seed 002): hosts of both kinds, Forgejo, a DigitalOcean runner fleet, tenants by config", () => {
  const prod = () => plan("cocotte", "prod");

  it("provisions vps-0 on Hetzner and joins the existing LAN host black over SSH into one swarm", () => {
    const server = only(byType(prod().resources, "hcloud:index/server:Server"), "server");
    expect(server.props).toMatchObject({ name: "cocotte-prod-host-vps-0", serverType: "cpx31", location: "ash" });
    const join = only(
      byType(prod().resources, "command:remote:Command").filter((c) => c.name.endsWith("swarm-join-black")),
      "join",
    );
    expect(join.props.connection).toMatchObject({ host: "10.0.0.11", user: "deploy" });
    expect(String(join.props.create)).toContain("'198.51.100.11'");
    expect(
      only(
        byType(prod().resources, "pulumi:providers:docker").filter((r) => r.name.endsWith("vps-0")),
        "provider",
      ).props.host,
    ).toBe(`ssh://deploy@${server.state.ipv4Address}`);
  });

  it("runs the Forgejo origin, and its runner fleet on ephemeral DigitalOcean droplets (none in dev)", () => {
    expect(String(only(role(prod(), "gitea"), "forgejo").props.taskSpec && (only(role(prod(), "gitea"), "forgejo").props.taskSpec as any).containerSpec.image)).toMatch(/forgejo/);
    const droplets = byType(prod().resources, "digitalocean:index/droplet:Droplet");
    expect(droplets.map((d) => d.props.name)).toEqual(["cocotte-prod-runner-0", "cocotte-prod-runner-1"]);
    for (const d of droplets) expect(d.props).toMatchObject({ region: "nyc3", size: "s-8vcpu-16gb-amd", tags: expect.arrayContaining(["ephemeral"]) });
    expect(byType(plan("cocotte", "dev").resources, "digitalocean:index/droplet:Droplet")).toEqual([]);
  });

  it("can run the runner fleet as a stack of its own: machines and their firewall, nothing else", () => {
    const runners = plan("cocotte", "runners");
    expect(runners.resources.map((r) => r.type).sort()).toEqual([
      "hcloud:index/firewall:Firewall",
      "hcloud:index/server:Server",
      "hcloud:index/server:Server",
      "hcloud:index/server:Server",
      "twinstack:index:RunnerFleet",
    ]);
    for (const server of byType(runners.resources, "hcloud:index/server:Server")) expect(server.props.labels).toMatchObject({ ephemeral: "true", env: "dev" });
  });

  it("gives each tenant its DNS records (pointing at vps-0) and its ACME site", () => {
    const server = only(byType(prod().resources, "hcloud:index/server:Server"), "server");
    const expected: Record<string, [string, string][]> = {
      demimonde: [
        ["cocotte.maison", "ai"],
        ["cocotte.maison", "data"],
        ["sansonnet.maison", "ai"],
        ["sansonnet.maison", "data"],
      ],
      quinn: [["transquinnftw.com", "@"]],
    };
    const caddy = caddyfile(prod());
    for (const [tenant, records] of Object.entries(expected)) {
      const component = only(
        byType(prod().resources, "twinstack:index:TenantDns").filter((c) => c.name === `cocotte-prod-tenant-${tenant}`),
        tenant,
      );
      const mine = byType(prod().resources, "digitalocean:index/dnsRecord:DnsRecord").filter((r) => r.parent === component.urn);
      expect(mine.map((r) => [r.props.domain, r.props.name])).toEqual(records);
      for (const r of mine) expect(r.props).toMatchObject({ type: "A", value: server.state.ipv4Address, ttl: 300 });
      for (const [zone, name] of records) expect(sites(prod()).get(name === "@" ? zone : `${name}.${zone}`)).toMatch(/^\ttls infra@cocotte\.io\n/);
    }
    expect(prod().outputs.tenants).toEqual({
      demimonde: ["ai.cocotte.maison", "data.cocotte.maison", "ai.sansonnet.maison", "data.sansonnet.maison"],
      quinn: ["transquinnftw.com"],
    });
    expect(caddy).not.toContain("tls internal");
  });

  it("keeps prod's database on black's platform Postgres, and dev on apricot with internal TLS and a Postgres of its own", () => {
    expect(only(byType(prod().resources, "pulumi:providers:postgresql"), "postgresql provider").props).toMatchObject({ host: "10.0.0.11", port: "25437", sslmode: "require" });
    expect(names(prod(), "postgresql:index/database:Database")).toEqual(["cocotte_prod"]);
    const dev = plan("cocotte", "dev");
    expect(only(byType(dev.resources, "pulumi:providers:docker"), "docker provider").props.host).toBe("ssh://deploy@10.0.0.13");
    expect(sites(dev).get("cocotte.apricot.lan")).toMatch(/^\ttls internal\n/);
    expect(only(role(dev, "postgres"), "postgres").props.name).toBe("cocotte-dev-postgres");
  });

  it("keeps the firewall of vps-0 to SSH from the admin range, 80/443 and git SSH, and swarm ports from black only", () => {
    const fw = only(byType(prod().resources, "hcloud:index/firewall:Firewall"), "firewall");
    const rules = fw.props.rules as { port: string; protocol: string; sourceIps: string[] }[];
    expect(
      rules
        .filter((r) => r.sourceIps.includes("0.0.0.0/0"))
        .map((r) => r.port)
        .sort(),
    ).toEqual(["2222", "443", "80"]);
    expect(rules.find((r) => r.port === "22")!.sourceIps).toEqual(["198.51.100.11/32"]);
    expect(rules.filter((r) => ["2377", "7946", "4789"].includes(r.port)).every((r) => r.sourceIps.join() === "198.51.100.11/32")).toBe(true);
  });

  it("adds exactly a new tenant's resources when the tenant is added to a copy of the prod config", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-onboard-"));
    try {
      const doc = YAML.parse(fs.readFileSync(path.join(examplesDir, "cocotte", "Pulumi.prod.yaml"), "utf8"));
      doc.config["twinstack:tenants"].push({ name: "merchebiche", domains: ["merchebiche.com"] });
      const file = path.join(dir, "Pulumi.prod.yaml");
      fs.writeFileSync(file, YAML.stringify(doc));
      const before = prod();
      const after = await planStack({ stack: "prod", stackFile: file, projectDir: root, runPolicyPack: false });
      const key = (r: PlannedResource) => `${r.type}::${r.name}`;
      const beforeKeys = new Set(before.resources.map(key));
      const afterByKey = new Map(after.resources.map((r) => [key(r), r]));
      const added = after.resources.filter((r) => !beforeKeys.has(key(r))).map(key);
      expect(added.sort()).toEqual([
        "digitalocean:index/dnsRecord:DnsRecord::cocotte-prod-tenant-merchebiche-merchebiche.com",
        "twinstack:index:TenantDns::cocotte-prod-tenant-merchebiche",
      ]);
      expect(before.resources.filter((r) => !afterByKey.has(key(r)))).toEqual([]);
      // The only existing resources that change: the proxy (its Caddyfile gains the tenant's site).
      const changed = before.resources.filter((r) => JSON.stringify(r.props) !== JSON.stringify(afterByKey.get(key(r))!.props)).map((r) => r.name);
      expect(changed.length).toBeGreaterThan(0);
      for (const name of changed) expect(name).toMatch(/^cocotte-prod-proxy-caddy/);
      expect(String(after.outputs.caddyfile)).toMatch(/^merchebiche\.com \{/m);
      expect((after.outputs.tenants as Record<string, string[]>).merchebiche).toEqual(["merchebiche.com"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("makapix (seed 003): one VPS, fully separate data stores per env, dev within 40%", () => {
  it("gives dev its own Mosquitto on 8884 (prod 8883), its own Postgres and Redis containers and its own vault directory", () => {
    for (const [stack, port, vault] of [
      ["prod", 8883, "/mnt/vault-1"],
      ["dev", 8884, "/mnt/vault-dev"],
    ] as const) {
      const p = plan("makapix", stack);
      const mqtt = only(role(p, "mqtt"), "mqtt");
      expect(mqtt.props.name).toBe(`makapix-${stack}-mqtt`);
      expect(publishedPorts(mqtt)).toEqual([{ internal: 8883, external: port, ip: "0.0.0.0" }]);
      expect((mqtt.props.uploads as { file: string; content: string }[]).find((u) => u.file === "/mosquitto/config/mosquitto.conf")!.content).toMatch(/require_certificate true/);
      expect(only(role(p, "postgres"), "postgres").props.name).toBe(`makapix-${stack}-postgres`);
      expect(only(role(p, "redis"), "redis").props.name).toBe(`makapix-${stack}-redis`);
      expect((only(role(p, "vault"), "vault").props.volumes as any[]).map((v) => v.hostPath)).toEqual([vault]);
      expect(p.outputs.mqttCaCertificate).toMatch(/BEGIN CERTIFICATE/);
    }
  });

  it("serves the vaults over plain HTTP, dev's behind basic auth; dev sites carry noindex", () => {
    const prod = sites(plan("makapix", "prod"));
    const dev = sites(plan("makapix", "dev"));
    expect([...prod.keys()].sort()).toEqual(["http://vault.makapix.club", "makapix.club"]);
    expect([...dev.keys()].sort()).toEqual(["development.makapix.club", "http://vault-dev.makapix.club"]);
    expect(prod.get("http://vault.makapix.club")).toContain("reverse_proxy vault:8080");
    expect(caddyfile(plan("makapix", "prod"))).not.toContain("basicauth");
    for (const body of dev.values()) {
      expect(body).toMatch(/basicauth \{\n\t\tdeveloper \$2/);
      expect(body).toContain('X-Robots-Tag "noindex, nofollow"');
    }
  });

  it("backs prod up daily (keeping 7), and dev not", () => {
    const backup = only(role(plan("makapix", "prod"), "backup"), "backup");
    expect(envOf(backup)).toMatchObject({ BACKUP_KEEP: "7" });
    expect(role(plan("makapix", "dev"), "backup")).toEqual([]);
  });

  it("runs alembic upgrade head once per release before the new app and worker, prod taking a backup first", () => {
    for (const stack of ["prod", "dev"]) {
      const p = plan("makapix", stack);
      const run = only(
        byType(p.resources, "command:local:Command").filter((c) => c.name.endsWith("-release-run")),
        "release task",
      );
      expect(String(run.props.create)).toContain(`\ncommand=${shellQuoteWords(["alembic", "upgrade", "head"])}\n`);
      for (const r of [...role(p, "app"), ...role(p, "worker")]) expect(r.dependencies).toContain(run.urn);
      const backup = byType(p.resources, "command:local:Command").find((c) => c.name.endsWith("-release-backup"));
      if (stack === "prod") expect(run.dependencies).toContain(backup!.urn);
      else expect(backup).toBeUndefined();
    }
  });

  it("monitors prod (probes of makapix.club and the vault, host, containers, database) with alerts by email, and not dev", () => {
    const p = plan("makapix", "prod");
    const parts = role(p, "monitoring")
      .map((r) => labels(r)["twinstack.monitoring"])
      .sort();
    expect(parts).toEqual(["alertmanager", "blackbox", "cadvisor", "node-exporter", "postgres-exporter", "prometheus"]);
    const prometheus = role(p, "monitoring").find((r) => labels(r)["twinstack.monitoring"] === "prometheus")!;
    const config = YAML.parse((prometheus.props.uploads as { file: string; content: string }[]).find((u) => u.file === "/etc/prometheus/prometheus.yml")!.content);
    const probed = config.scrape_configs.filter((j: any) => j.metrics_path === "/probe").flatMap((j: any) => j.static_configs[0].targets);
    expect(probed).toEqual(["https://makapix.club/api/health", "http://vault.makapix.club/"]);
    const alertmanager = role(p, "monitoring").find((r) => labels(r)["twinstack.monitoring"] === "alertmanager")!;
    expect((alertmanager.inputs.uploads as { content: unknown }[])[0].content).toBeInstanceOf(SecretValue);
    const am = YAML.parse((alertmanager.props.uploads as { content: string }[])[0].content);
    expect(am.receivers[0].email_configs[0]).toMatchObject({ to: "ops@makapix.club", smarthost: "smtp.resend.com:587" });
    for (const r of role(p, "monitoring")) expect(publishedPorts(r)).toEqual([]);
    expect(role(plan("makapix", "dev"), "monitoring")).toEqual([]);
  });

  it("binds each env's proxy to its own address of the VPS", () => {
    for (const [stack, address] of [
      ["prod", "203.0.113.50"],
      ["dev", "203.0.113.51"],
    ]) {
      const ports = publishedPorts(only(role(plan("makapix", stack), "proxy"), "proxy"));
      expect(ports.map((p) => `${p.ip}:${p.external}`)).toEqual([`${address}:80`, `${address}:443`]);
    }
  });

  it("limits every dev workload, adding up to at most 40% of the VPS (5 CPUs, 5120 MiB)", () => {
    const dev = workloads(plan("makapix", "dev"));
    expect(dev.map((r) => labels(r)["twinstack.role"]).sort()).toEqual(["app", "mqtt", "postgres", "probe", "proxy", "redis", "vault", "worker"]);
    const limits = dev.map(limitsOf);
    for (const l of limits) expect(l.cpus > 0 && l.memoryMb > 0).toBe(true);
    expect(limits.reduce((n, l) => n + l.cpus, 0)).toBeLessThanOrEqual(0.4 * 5 + 1e-9);
    expect(limits.reduce((n, l) => n + l.memoryMb, 0)).toBeLessThanOrEqual(0.4 * 5120);
  });
});

describe("twincigo (seed 004): three Hetzner servers per env, HA Postgres with Patroni + etcd + HAProxy", () => {
  it("provisions three CCX33 servers for prod and three CCX13 for dev on a private network, formed into a swarm", () => {
    for (const [stack, type] of [
      ["prod", "ccx33"],
      ["dev", "ccx13"],
    ]) {
      const p = plan("twincigo", stack);
      const servers = byType(p.resources, "hcloud:index/server:Server");
      expect(servers.map((s) => s.props.name)).toEqual([`twincigo-${stack}-host-ash-1`, `twincigo-${stack}-host-ash-2`, `twincigo-${stack}-host-ash-3`]);
      for (const [i, s] of servers.entries()) {
        expect(s.props).toMatchObject({ serverType: type, location: "ash" });
        expect((s.props.networks as { ip: string }[])[0].ip).toBe(`10.0.1.${11 + i}`);
      }
      expect(only(byType(p.resources, "hcloud:index/networkSubnet:NetworkSubnet"), "subnet").props).toMatchObject({ ipRange: "10.0.1.0/24", networkZone: "us-east" });
      const commands = byType(p.resources, "command:remote:Command").map((c) => c.name.replace(`twincigo-${stack}-hosts-`, ""));
      expect(commands).toEqual(expect.arrayContaining(["swarm-init-ash-1", "swarm-join-ash-2", "swarm-join-ash-3", "swarm-token-manager"]));
      expect(byType(p.resources, "hcloud:index/sshKey:SshKey")).toHaveLength(1);
    }
  });

  it("runs three etcd members and three Patroni members (one per server) and an HAProxy routing to the leader", () => {
    for (const stack of ["prod", "dev"]) {
      const p = plan("twincigo", stack);
      const etcd = role(p, "etcd");
      const patroni = role(p, "patroni");
      expect(etcd.map((r) => r.props.name)).toEqual([1, 2, 3].map((i) => `twincigo-${stack}-etcd-${i}`));
      expect(patroni.map((r) => r.props.name)).toEqual([1, 2, 3].map((i) => `twincigo-${stack}-patroni-${i}`));
      for (const [i, r] of [...etcd, ...patroni].map((r, j) => [j % 3, r] as const)) {
        expect((r.props.taskSpec as any).placement.constraints).toEqual([`node.labels.twinstack.host==ash-${i + 1}`]);
      }
      const haproxy = only(role(p, "haproxy"), "haproxy");
      const cfgResource = byType(p.resources, "docker:index/serviceConfig:ServiceConfig").find((c) => c.name.includes("haproxy-config"))!;
      const cfg = Buffer.from(String(cfgResource.props.data), "base64").toString();
      expect(cfg).toContain("http-check send meth GET uri /primary");
      expect(cfg.match(/^\s+server pg-\d pg-\d:5432 .* check port 8008 resolvers members init-addr last,libc,none resolve-prefer ipv4$/gm)).toHaveLength(3);
      expect(publishedPorts(haproxy)).toEqual([{ internal: 5000, external: 5000 }]);
    }
  });

  it("creates the env's database through HAProxy, the app connecting to it on the env network", () => {
    const p = plan("twincigo", "prod");
    const server = byType(p.resources, "hcloud:index/server:Server")[0];
    expect(only(byType(p.resources, "pulumi:providers:postgresql"), "postgresql provider").props).toMatchObject({
      host: server.state.ipv4Address,
      port: "5000",
      username: "postgres",
    });
    expect(names(p, "postgresql:index/database:Database")).toEqual(["twincigo_prod"]);
    expect(envOf(only(role(p, "app"), "app")).DATABASE_URL).toContain("@postgres-ha:5000/twincigo_prod");
    // pgvector for the agents' embeddings.
    expect(only(byType(p.resources, "postgresql:index/extension:Extension"), "extension").props).toMatchObject({ name: "vector", database: "twincigo_prod" });
  });

  it("opens no data port to the world: SSH and HAProxy from the admin range only, 80/443 to all", () => {
    for (const stack of ["prod", "dev"]) {
      const rules = only(byType(plan("twincigo", stack).resources, "hcloud:index/firewall:Firewall"), "firewall").props.rules as { port: string; sourceIps: string[] }[];
      expect(rules.map((r) => [r.port, r.sourceIps.join(",")])).toEqual([
        ["22", "198.51.100.0/24"],
        ["5000", "198.51.100.0/24"],
        ["80", "0.0.0.0/0,::/0"],
        ["443", "0.0.0.0/0,::/0"],
      ]);
    }
  });

  it("protects prod's servers and member volumes, and limits every dev workload", () => {
    const prod = plan("twincigo", "prod");
    for (const s of byType(prod.resources, "hcloud:index/server:Server")) expect(s.opts.protect).toBe(true);
    for (const v of byType(prod.resources, "docker:index/volume:Volume").filter((v) => /etcd|patroni/.test(v.name))) expect(v.opts.protect).toBe(true);
    expect(only(byType(prod.resources, "hcloud:index/floatingIpAssignment:FloatingIpAssignment"), "floating IP assignment").props.serverId).toBeDefined();
    for (const r of workloads(plan("twincigo", "dev"))) {
      const l = limitsOf(r);
      expect(l.cpus > 0 && l.memoryMb > 0).toBe(true);
    }
  });
});

describe("FEATURES.md", () => {
  it("names only tests that exist", () => {
    const features = fs.readFileSync(path.join(root, "FEATURES.md"), "utf8");
    const rows = features.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| feature") && !l.startsWith("|---"));
    expect(rows.length).toBeGreaterThan(50);
    const source = (file: string) => fs.readFileSync(path.join(root, file), "utf8");
    for (const row of rows) {
      const provedBy = row.split(" | ").pop()!.replace(/ \|$/, "");
      for (const part of provedBy.split("; ")) {
        const file = /`(tests\/[\w/.]+\.test\.ts)`/.exec(part)?.[1] ?? "tests/examples.test.ts";
        expect(fs.existsSync(path.join(root, file))).toBe(true);
        if (!part.includes("›") || part.startsWith("every example")) continue;
        const name = part
          .split("›")
          .pop()!
          .split(/…|<prefix>/)[0]
          .trim();
        if (!name || /^[a-z]+\/(\*|[a-z-]+)(, [a-z]+\/[a-z-]+)*$/.test(name)) continue;
        // A trailing "(…)" may be a note on what the test shows rather than part of its name.
        const candidates = [name, name.replace(/\s*\([^()]*\)$/, "")];
        if (!candidates.some((c) => source(file).includes(c))) throw new Error(`FEATURES.md names a test that ${file} does not have: "${name}"`);
      }
    }
  });
});

describe("twincigo prod: the Hetzner floating IP is HA (keepalived over the private network moves it)", () => {
  const KA = "docker:index/container:Container";
  const keepaliveds = (p: StackPlan) => byType(p.resources, KA).filter((c) => labels(c)["twinstack.role"] === "keepalived");
  const upload = (c: PlannedResource, file: string) => {
    const u = (c.props.uploads as { file: string; content: string; permissions: string }[]).find((x) => x.file === file);
    if (!u) throw new Error(`${c.name}: no upload ${file}`);
    return u;
  };
  const inputUpload = (c: PlannedResource, file: string) => (c.inputs.uploads as { file: string; content: unknown }[]).find((x) => x.file === file)!;

  it("runs keepalived on each of the three servers, unicast over their private addresses, the first MASTER", () => {
    const p = plan("twincigo", "prod");
    const ks = keepaliveds(p);
    expect(ks.map((c) => c.props.name)).toEqual(["ash-1", "ash-2", "ash-3"].map((h) => `twincigo-prod-keepalived-${h}`));
    const privates = ["10.0.1.11", "10.0.1.12", "10.0.1.13"];
    const servers = byType(p.resources, "hcloud:index/server:Server");
    expect(servers.map((s) => (s.props.networks as { ip: string }[])[0].ip)).toEqual(privates);
    ks.forEach((c, i) => {
      const conf = upload(c, "/etc/keepalived/twinstack.conf").content;
      expect(conf).toMatch(new RegExp(`state ${i === 0 ? "MASTER" : "BACKUP"}\\n`));
      expect(conf).toContain(`unicast_src_ip ${privates[i]}\n`);
      for (const peer of privates.filter((_, j) => j !== i)) expect(conf).toContain(`        ${peer}\n`);
      expect(conf).toContain('notify_master "/etc/keepalived/twinstack-notify-master.sh"');
      expect(conf).not.toContain("virtual_ipaddress");
      // The proxy is a Swarm service: the track script checks the ingress on the node's private address.
      expect(conf).toContain(`nc -z -w 2 ${privates[i]} 443`);
      expect(c.props.networkMode).toBe("host");
      expect(c.provider).toContain(`::twincigo-prod-docker-ash-${i + 1}::`);
    });
  });

  it("each node's notify_master assigns the floating IP to its own server; the first assignment is not moved back by pulumi up", () => {
    const p = plan("twincigo", "prod");
    const fip = only(byType(p.resources, "hcloud:index/floatingIp:FloatingIp"), "floating IP");
    const servers = byType(p.resources, "hcloud:index/server:Server");
    keepaliveds(p).forEach((c, i) => {
      const script = upload(c, "/etc/keepalived/twinstack-notify-master.sh");
      expect(script.permissions).toBe("0700");
      // The offline plan's ids are `<resource name>-id` (real ones are numbers, sent as JSON numbers).
      expect(script.content).toContain(`url='https://api.hetzner.cloud/v1/floating_ips/${fip.name}-id/actions/assign'`);
      expect(script.content).toContain(`body='${JSON.stringify({ server: `${servers[i].name}-id` })}'`);
    });
    const assignment = only(byType(p.resources, "hcloud:index/floatingIpAssignment:FloatingIpAssignment"), "assignment");
    expect(assignment.opts.ignoreChanges).toEqual(["serverId"]);
  });

  it("configures the floating IP on every node's eth0, now and in Hetzner's netplan file", () => {
    const p = plan("twincigo", "prod");
    const fip = only(byType(p.resources, "hcloud:index/floatingIp:FloatingIp"), "floating IP");
    for (const c of keepaliveds(p)) {
      const entry = (c.props.entrypoints as string[])[2];
      // The settings above scripts/vip-entrypoint.sh's body, which adds floating_ip to public_interface.
      expect(entry).toContain(`\nfloating_ip='${fip.state.ipAddress}'\npublic_interface='eth0'\n`);
      expect(entry).toContain(`        - ${fip.state.ipAddress}/32`);
      expect(entry).toContain("\nnetplan_file='/host/etc/netplan/60-twinstack-floating-ip.yaml'\n");
      expect(c.props.volumes).toEqual([{ hostPath: "/etc/netplan", containerPath: "/host/etc/netplan" }]);
    }
  });

  it("delivers the API token only as a secret 0600 file: not in env, args, labels or any plain input", () => {
    const p = plan("twincigo", "prod");
    for (const c of keepaliveds(p)) {
      const token = inputUpload(c, "/etc/keepalived/twinstack-api-token");
      expect(token.content).toBeInstanceOf(SecretValue);
      expect(upload(c, "/etc/keepalived/twinstack-api-token").permissions).toBe("0600");
      expect(c.props.envs ?? []).toEqual([]);
      expect(JSON.stringify(c.inputs)).not.toContain("plan-placeholder-secret");
    }
    expect(JSON.stringify(p.resources.map((r) => r.inputs))).not.toContain("plan-placeholder-secret");
  });
});
