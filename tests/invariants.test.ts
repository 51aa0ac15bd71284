// Validation in one place (issue 15): every rule a stack file can break is a config check
// (model/validate.ts), reported before anything is declared; components and renderers keep their
// own checks as invariants only, all of one class (InvariantError), which the plan prints as one
// line naming the stack file instead of a stack trace.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { ConfigError, parseStackConfig } from "../stacks/config";
import { InvariantError, RenderInvariantError, findInvariant } from "../components/render/invariant";
import { CaddyfileError } from "../components/render/caddyfile";
import { renderReleaseScript } from "../components/render/release";
import { renderAlertRules } from "../components/render/prometheus";
import { subnetHostIp } from "../components/dockerHosts";
import { describeFailure, planStack } from "../tools/planner";

const root = path.join(__dirname, "..");

function problemsOf(values: Record<string, unknown>, secret: string[] = []): string[] {
  try {
    parseStackConfig(values, { stack: "prod", sourceFile: "Pulumi.prod.yaml", isSecret: (k) => secret.includes(k) });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}
const app = { name: "gigi", image: "gigi:1" };
const host = (name: string, extra: Record<string, unknown> = {}) => ({ name, docker: `ssh://deploy@${name}.example.com`, address: `203.0.113.${name.length}`, ...extra });

describe("the stack steps' former checks are config checks, reported together", () => {
  it("HA Postgres off swarm, duplicate tenants and a provisioned host without an admin range: one run, three keys", () => {
    const problems = problemsOf({
      env: "prod",
      app,
      hosts: [host("a"), host("bb"), host("ccc"), { name: "new", provision: { provider: "hcloud", type: "cx22", location: "fsn1" } }],
      haPostgres: { enabled: true },
      tenants: [{ name: "acme" }, { name: "acme" }],
    });
    const keys = problems.map((p) => /^Pulumi\.prod\.yaml: twinstack:(\S+?): /.exec(p)?.[1]);
    expect(keys).toEqual(expect.arrayContaining(["haPostgres.enabled", "tenants[1].name", "provisioning.adminCidr"]));
    expect(keys).not.toContain(undefined);
  });
});

describe("rules DockerHosts kept as its own checks are config checks now", () => {
  it('runtime "swarm": an existing member needs an ssh:// endpoint and an address', () => {
    const problems = problemsOf({ env: "prod", runtime: "swarm", app, hosts: [{ name: "a", docker: "unix:///var/run/docker.sock" }, host("b")] });
    expect(problems).toEqual([
      expect.stringMatching(/^Pulumi\.prod\.yaml: twinstack:hosts\[0\]\.address: required key is missing \(runtime "swarm"/),
      expect.stringMatching(/^Pulumi\.prod\.yaml: twinstack:hosts\[0\]\.docker: runtime "swarm" forms the swarm over SSH/),
    ]);
  });

  it("an admin range that is no IP range", () => {
    const problems = problemsOf({ env: "prod", app, runners: { count: 1, forgeUrl: "https://git.example.com", adminCidr: "203.0.113/24" }, runnerRegistrationToken: "t" }, [
      "runnerRegistrationToken",
    ]);
    expect(problems).toEqual([expect.stringMatching(/^Pulumi\.prod\.yaml: twinstack:runners\.adminCidr: expected an IPv4 or IPv6 range/)]);
    expect(problemsOf({ env: "prod", app, provisioning: { adminCidr: "2001:db8::/200" } })).toEqual([
      expect.stringMatching(/^Pulumi\.prod\.yaml: twinstack:provisioning\.adminCidr: expected an IPv4 or IPv6 range/),
    ]);
    expect(problemsOf({ env: "prod", app, provisioning: { adminCidr: "2001:db8::/48" } })).toEqual([]);
  });

  it("a provisioned host whose server name would pass 63 characters", () => {
    const name = `h${"x".repeat(60)}`;
    const problems = problemsOf({
      env: "prod",
      app,
      provisioning: { adminCidr: "203.0.113.0/24" },
      hosts: [{ name, provision: { provider: "hcloud", type: "cx22", location: "fsn1" } }],
    });
    expect(problems).toEqual([expect.stringMatching(/^Pulumi\.prod\.yaml: twinstack:hosts\[0\]\.name: at most 48 characters for a provisioned host/)]);
  });

  it("a provisioned host whose server would be named like a runner machine (...-runner-<digits>)", () => {
    const provisioned = (name: string, provision: Record<string, unknown> | undefined = { provider: "hcloud", type: "cx22", location: "fsn1" }) =>
      problemsOf({
        env: "prod",
        app,
        provisioning: { adminCidr: "203.0.113.0/24" },
        hosts: [host("web1"), { ...host(name), ...(provision ? { docker: undefined, provision } : {}) }],
      });
    for (const name of ["runner-1", "ci-runner-42"]) {
      expect(provisioned(name)).toEqual([
        `Pulumi.prod.yaml: twinstack:hosts[1].name: a provisioned host's server, gigi-prod-host-${name}, would end in runner-<digits>, the name of a CI runner machine (which the policy pack holds to be ephemeral): name the host otherwise`,
      ]);
    }
    // Not a runner machine's name, or no server of the program's (an existing host).
    for (const name of ["runner", "runner-a", "runner-1x", "myrunner-1"]) expect(provisioned(name)).toEqual([]);
    expect(problemsOf({ env: "prod", app, hosts: [host("runner-1")] })).toEqual([]);
  });

  it('an app name with "_" where it names machines (runners, swarm, provisioned hosts)', () => {
    const runners = { count: 2, forgeUrl: "https://git.example.com", adminCidr: "203.0.113.0/24" };
    const named = (values: Record<string, unknown>) => problemsOf(values, ["runnerRegistrationToken"]);
    expect(named({ env: "prod", app: { ...app, name: "my_app" }, runners, runnerRegistrationToken: "t" })).toEqual([
      expect.stringMatching(/^Pulumi\.prod\.yaml: twinstack:app\.name: expected letters, digits and "-" only \(no "_"\)/),
    ]);
    expect(named({ env: "prod", runtime: "swarm", app: { ...app, name: "my_app" }, hosts: [host("a")] })).toHaveLength(1);
    // Where no machine is named from it, "_" stays allowed (databases are <app>_<env> anyway).
    expect(named({ env: "prod", app: { ...app, name: "my_app" } })).toEqual([]);
  });

  it("the plan of such a file fails on the config error, before anything is declared", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-invariants-"));
    try {
      const file = path.join(dir, "Pulumi.prod.yaml");
      const config = { env: "prod", runtime: "swarm", app, hosts: [{ name: "a", docker: "unix:///var/run/docker.sock", address: "10.0.0.1" }] };
      fs.writeFileSync(file, YAML.stringify({ config: Object.fromEntries(Object.entries(config).map(([k, v]) => [`twinstack:${k}`, v])) }));
      const error = await planStack({ stack: "prod", stackFile: file, projectDir: dir }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error).toBeDefined();
      expect(describeFailure(error)).toMatch(/^\S*Pulumi\.prod\.yaml: twinstack:hosts\[0\]\.docker: runtime "swarm" forms the swarm over SSH/);
      expect(describeFailure(error).split("\n")).toHaveLength(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("components and renderers: invariants of one class", () => {
  it("renderers and component helpers throw InvariantError (renderers a RenderInvariantError)", () => {
    const release = () => renderReleaseScript({ containerName: "bad name", network: "n", image: "i", command: ["x"], envNames: [] } as never);
    expect(release).toThrow(RenderInvariantError);
    expect(release).toThrow(InvariantError);
    expect(() => renderAlertRules({ latencyP99Seconds: -1 } as never)).toThrow(InvariantError);
    expect(() => subnetHostIp("10.0.0/24", 0)).toThrow(InvariantError);
    expect(new CaddyfileError("x")).toBeInstanceOf(InvariantError);
  });

  it("findInvariant finds one itself, as a cause, or named in a wrapped message (Pulumi's serialization errors)", () => {
    expect(findInvariant(new InvariantError("VirtualIp v: bad"))).toBe("VirtualIp v: bad");
    expect(findInvariant(new Error("outer", { cause: new InvariantError("inner") }))).toBe("inner");
    expect(findInvariant(new Error('error serializing property "x": InvariantError: BackupJob b: keep must be a positive integer, got 0'))).toBe(
      "BackupJob b: keep must be a positive integer, got 0",
    );
    expect(findInvariant(new Error("plain"))).toBeUndefined();
  });

  it("the plan prints an invariant as one line naming the stack file, not a stack trace", async () => {
    await planStack({ stack: "dev", stackFile: path.join(root, "examples/gigi/Pulumi.dev.yaml"), projectDir: path.join(root, "examples/gigi"), runPolicyPack: false });
    const line = describeFailure(new InvariantError("HaPostgres x: needs an odd number of members from 3 to 7 (etcd quorum), got 4"));
    expect(line).toMatch(/^\S*examples\/gigi\/Pulumi\.dev\.yaml: a check of the program failed that config validation should have caught \(please report it\): HaPostgres x: /);
    expect(line.split("\n")).toHaveLength(1);
    expect(line).not.toMatch(/^error: |\n\s+at /);
  });
});
