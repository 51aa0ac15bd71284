// The real program (stacks/runStack) planned under the mocks harness from copies of the default
// stack files, mutated the way a careless edit would, then run through the pack's policies the way
// `npm run plan` runs them: each mutation must fail naming the policy that catches it.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { formatViolation, runPolicies, Violation } from "../policy/offline";
import { runStack } from "../stacks";
import { readStackConfig } from "../model/stackFile";
import { planProgram, revealSecrets } from "./harness";

const ROOT = path.resolve(__dirname, "..");
type Config = Record<string, any>;

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A copy of the project's stack files, each config optionally mutated. */
function projectWith(mutations: { dev?: (c: Config) => void; prod?: (c: Config) => void } = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-mutations-"));
  dirs.push(dir);
  fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  for (const stack of ["dev", "prod"] as const) {
    const doc = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"));
    mutations[stack]?.(doc.config);
    fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), YAML.stringify(doc));
  }
  return dir;
}

interface PlanOptions {
  /** Declares more resources next to the program's own (a code change rather than a config change). */
  extra?: (outputs: Record<string, unknown>) => void;
  /** Changes the dev stack's outputs a preview reads (what the deployed dev stack answers). */
  devOutputs?: (outputs: Record<string, any>) => void;
}

async function plan(dir: string, stack: string, opts: PlanOptions = {}): Promise<Violation[]> {
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  const fileConfig = readStackConfig(file, { stack });
  let stackOutputs: Record<string, Record<string, unknown>> | undefined;
  if (stack.startsWith("preview-")) {
    const dev = readStackConfig(path.join(dir, "Pulumi.dev.yaml"), { stack: "dev" });
    const devPlan = await planProgram(runStack, { stack: "dev", config: dev.engineConfig, secretKeys: dev.engineSecretKeys });
    const outputs = revealSecrets(devPlan.outputs) as Record<string, any>;
    opts.devOutputs?.(outputs);
    stackOutputs = { dev: outputs };
  }
  const program = async () => {
    const outputs = await runStack();
    opts.extra?.(outputs);
    return outputs;
  };
  const { resources } = await planProgram(program, { stack, config: fileConfig.engineConfig, secretKeys: fileConfig.engineSecretKeys, stackOutputs, sourceFile: file });
  return runPolicies(resources, { stack, stackFile: file, projectDir: dir });
}

const mandatory = (violations: Violation[]) => violations.filter((v) => v.enforcementLevel === "mandatory").map(formatViolation);
const from = (violations: Violation[], policy: string) => violations.filter((v) => v.policy === policy && v.enforcementLevel === "mandatory").map((v) => v.message);

const PROD_NODE = "ssh://deploy@10.0.0.11";

describe("the default stacks plan clean", () => {
  it.each(["dev", "prod", "preview-feature-x"])("%s has no mandatory violation", async (stack) => {
    expect(mandatory(await plan(projectWith(), stack))).toEqual([]);
  });
});

describe("mutated stack configs fail the plan, naming the policy", () => {
  it("dev with prod's database name (a prod config pasted into dev)", async () => {
    const prod = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")).config;
    const dir = projectWith({ dev: (c) => Object.assign(c, prod) });
    const violations = await plan(dir, "dev");
    expect(from(violations, "env-token-in-names")).toContain('dev database "myapp_prod" carries another stack\'s env token: name it myapp_dev');
    expect(from(violations, "no-shared-claims")).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^stack "dev" sets twinstack:env "prod"/),
        expect.stringMatching(/^stack "dev" claims database 10\.0\.0\.20:5432\/myapp_prod .*stack "prod"/),
      ]),
    );
    // The same paste also drops dev's basic auth and limits and unprotects nothing: prod settings in a dev stack.
    expect(from(violations, "nonprod-sites-private")).toEqual(expect.arrayContaining([expect.stringContaining("serves routes without basic auth")]));
  });

  it("dev sharing prod's VIP", async () => {
    const dir = projectWith({
      dev: (c) => {
        c["twinstack:hosts"][0].address = "10.0.0.30";
        c["twinstack:vip"] = { mode: "keepalived", address: "10.0.0.50", routerId: 51 };
      },
    });
    expect(from(await plan(dir, "dev"), "no-shared-claims")).toEqual([
      'stack "dev" claims VIP 10.0.0.50 (twinstack:vip.address in Pulumi.dev.yaml), which stack "prod" also claims (twinstack:vip.address in Pulumi.prod.yaml): give "dev" its own value in twinstack:vip.address',
    ]);
  });

  it("dev publishing prod's host port on prod's node", async () => {
    const dir = projectWith({
      dev: (c) => {
        c["twinstack:hosts"] = [{ name: "node1", docker: PROD_NODE, address: "10.0.0.11", cpus: 8, memoryMb: 16384 }];
        c["twinstack:proxy"].httpsPort = 443;
      },
    });
    expect(from(await plan(dir, "dev"), "no-shared-claims")).toEqual([
      `stack "dev" claims published host port ${PROD_NODE}|0.0.0.0:443 (twinstack:proxy.httpsPort in Pulumi.dev.yaml), which overlaps stack "prod"'s published host port ${PROD_NODE}|10.0.0.50:443 (twinstack:proxy.httpsPort in Pulumi.prod.yaml): give "dev" its own value in twinstack:proxy.httpsPort`,
    ]);
  });

  it("a dev site without basic auth (dev stack configured as prod)", async () => {
    const dir = projectWith({ dev: (c) => (c["twinstack:env"] = "prod") });
    expect(from(await plan(dir, "dev"), "nonprod-sites-private")).toEqual([
      "dev site dev.myapp.localhost serves routes without basic auth: put basic_auth at the site level (twinstack:proxy.basicAuth lists the users) so every route asks for a password",
      'dev site dev.myapp.localhost does not send X-Robots-Tag: noindex on every route: add header X-Robots-Tag "noindex, nofollow" at the site level',
    ]);
  });

  it("a prod image :latest", async () => {
    const dir = projectWith({ prod: (c) => (c["twinstack:app"].image = "nginxdemos/hello:latest") });
    const latest = expect.stringMatching(/^prod image "nginxdemos\/hello:latest" uses the moving tag ":latest": set twinstack:app\.image in Pulumi\.prod\.yaml to a digest/);
    // Both the pulled image and the swarm service that runs it.
    expect(from(await plan(dir, "prod"), "prod-images-immutable")).toEqual([latest, latest]);
  });

  it("an unprotected prod database (prod stack configured as dev)", async () => {
    const dir = projectWith({ prod: (c) => (c["twinstack:env"] = "dev") });
    const violations = await plan(dir, "prod");
    expect(from(violations, "prod-data-protected")).toContain(
      'prod database "myapp_dev" is not protected: declare it with { protect: true } so `pulumi destroy` or a replacement cannot delete it',
    );
  });

  it("a dev workload without memory limits (dev stack configured as prod)", async () => {
    const dir = projectWith({ dev: (c) => (c["twinstack:env"] = "prod") });
    expect(from(await plan(dir, "dev"), "nonprod-resource-budget")).toEqual(
      expect.arrayContaining([
        'dev container "myapp-prod-redis" has no CPU or memory limit: set twinstack:redis.limits (or twinstack:budget.defaultLimits) with cpus and memoryMb',
      ]),
    );
  });

  it("dev workloads over the budget", async () => {
    const dir = projectWith({ dev: (c) => (c["twinstack:app"].limits = { cpus: 2, memoryMb: 4096 }) });
    expect(from(await plan(dir, "dev"), "nonprod-resource-budget")).toEqual([
      expect.stringMatching(
        // Totals include the app health probe's seeder (0.05 CPU, 16 MiB; model/images.ts HEALTH_PROBE):
        // 0.25 x 3 + 2 + 0.05 = 2.8 CPUs, over by 1.2; 256 x 3 + 4096 + 16 = 4880 MiB, over by 1604 -> 2492, rounded down to 2432.
        /^dev workloads on host "local" ask for 2\.8 CPUs and 4880 MiB, over the 1\.6 CPUs and 3276 MiB allowed \(40% of 4 CPUs and 8192 MiB, twinstack:budget\.share in Pulumi\.dev\.yaml\): lower twinstack:app\.limits\.cpus from 2 to 0\.8 and twinstack:app\.limits\.memoryMb from 4096 to 2432 \(1 workload uses it\); /,
      ),
    ]);
  });

  it("a preview pointed at the prod host (the deployed dev stack hands out prod's node)", async () => {
    const dir = projectWith();
    const violations = await plan(dir, "preview-feature-x", { devOutputs: (o) => (o.previewHandoff.dockerHost = PROD_NODE) });
    expect(from(violations, "preview-stays-on-dev")).toEqual([
      `preview docker provider "preview-docker" points at prod's host ${PROD_NODE}: previews run on the dev host unix:///var/run/docker.sock`,
    ]);
  });

  it("a firewall opening 5432 to 0.0.0.0/0 (a code change next to prod)", async () => {
    const dir = projectWith();
    const violations = await plan(dir, "prod", {
      extra: () =>
        void new digitalocean.Firewall("myapp-prod-db", { name: "myapp-prod-db", inboundRules: [{ protocol: "tcp", portRange: "5432", sourceAddresses: ["0.0.0.0/0"] }] }),
    });
    expect(from(violations, "no-public-data-ports")).toEqual([
      'firewall "myapp-prod-db" opens Postgres (port 5432/tcp) to 0.0.0.0/0: restrict sourceAddresses to the hosts that need it (an admin or app CIDR) or drop the rule',
    ]);
  });

  it("a runner with a reserved IP", async () => {
    const dir = projectWith({
      dev: (c) => {
        c["twinstack:runners"] = { count: 1, provider: "digitalocean", forgeUrl: "https://forge.example.com", adminCidr: "203.0.113.0/24" };
        c["twinstack:runnerRegistrationToken"] = { secure: "v1:placeholder" };
      },
    });
    const violations = await plan(dir, "dev", {
      // The reserved IP is assigned to the runner droplet (its id flows from the fleet's outputs).
      extra: (outputs) =>
        void new digitalocean.ReservedIpAssignment("myapp-dev-runner-ip", {
          ipAddress: "198.51.100.7",
          dropletId: (outputs.runnerAddresses as pulumi.Output<string[]>).apply(() => 1),
        }),
    });
    expect(from(violations, "runners-ephemeral")).toEqual([
      'reserved IP "myapp-dev-runner-ip" is attached to runner machine "myapp-dev-runner-0": runners are ephemeral and carry no reserved IP; remove it (keep reserved IPs and volumes on provisioned hosts)',
    ]);
  });
});
