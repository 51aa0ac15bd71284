// Real consumer: Debian's cloud-init validates the rendered user data against its own schema.
// Invocation that works with cloud-init 22.4 without root or instance paths:
//   cloud-init schema --config-file <file>
// (prints "Valid cloud-config: <file>" and exits 0; schema errors exit 1 with "Cloud config
// schema errors: ..."; deprecations are printed but exit 0). Verified as root and as nobody.
// It checks types and structure of known modules; unknown top-level keys are not errors, so
// the unit tests pin the key names.
//
// Mutations tried to prove these tests bite (each reverted):
// - renderRunnerCloudInit emitting `runcmd` as one string ("<script> install") instead of a
//   list: every runner case fails ("runcmd: ... is not of type 'array'").
// - renderDockerHostCloudInit emitting `ssh_pwauth: "no"` (a string) instead of false: both
//   docker-host cases fail. cloud-init 22.4 still calls that valid but prints a DEPRECATED
//   notice; these tests treat any deprecation as a failure.

import * as fs from "fs";
import * as path from "path";
import { RunnerCloudInitArgs, renderDockerHostCloudInit, renderRunnerCloudInit } from "../../components/render/cloudInit";
import { describeRun, removeDir, requireBinary, run, RunResult, tmpDir } from "./util";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHtwaW5zdGFja3Rlc3RrZXlub3RyZWFs admin@twinstack";

let cloudInit: string;
let dir: string;

beforeAll(() => {
  cloudInit = requireBinary("cloud-init");
  dir = tmpDir("twinstack-cloudinit-");
});
afterAll(() => removeDir(dir));

async function schema(name: string, userData: string): Promise<RunResult> {
  const file = path.join(dir, name);
  fs.writeFileSync(file, userData, { mode: 0o600 });
  // 50 s (under jest's 60 s test timeout): on the loaded 2-core machine `cloud-init schema` printed
  // "Valid cloud-config" and was still exiting at 20 s (a full npm test run failed there).
  return run(cloudInit, ["schema", "--config-file", file], { timeoutMs: 50_000 });
}

function runner(over: Partial<RunnerCloudInitArgs>): RunnerCloudInitArgs {
  return {
    forge: "forgejo",
    forgeUrl: "https://git.example.com",
    registrationToken: "0123456789abcdefTOKEN",
    runnerName: "ci-dev-runner-1",
    labels: ["ephemeral", "dev", "ubuntu-latest:docker://node:20-bookworm"],
    runnerVersion: "6.3.1",
    installDocker: true,
    ephemeral: true,
    sshAuthorizedKeys: [KEY],
    ...over,
  };
}

describe("cloud-init schema", () => {
  const cases: Array<[string, string]> = [];
  for (const forge of ["forgejo", "gitea"] as const) {
    for (const installDocker of [true, false]) {
      cases.push([
        `runner-${forge}-${installDocker ? "docker" : "golden"}.yaml`,
        renderRunnerCloudInit(runner({ forge, installDocker, runnerVersion: forge === "gitea" ? "0.2.11" : "6.3.1" })),
      ]);
    }
  }
  cases.push(["runner-no-keys.yaml", renderRunnerCloudInit(runner({ sshAuthorizedKeys: undefined, ephemeral: false }))]);
  cases.push(["docker-host.yaml", renderDockerHostCloudInit({ adminUser: "ops", sshAuthorizedKeys: [KEY] })]);
  cases.push(["docker-host-swarm.yaml", renderDockerHostCloudInit({ adminUser: "ops", sshAuthorizedKeys: [KEY], swarm: true })]);

  it.each(cases)("accepts %s", async (name, userData) => {
    const r = await schema(name, userData);
    if (r.code !== 0) throw new Error(describeRun(`cloud-init schema ${name}`, r));
    expect(r.stdout).toContain("Valid cloud-config");
    expect(r.stdout + r.stderr).not.toMatch(/deprecat/i);
  });

  it("rejects a broken document (runcmd: 5)", async () => {
    const r = await schema("broken.yaml", "#cloud-config\nruncmd: 5\n");
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/runcmd: 5 is not of type 'array'/);
  });

  it("rejects a rendered document with a wrongly typed module key", async () => {
    const broken = renderRunnerCloudInit(runner({})).replace(/^ssh_pwauth: false$/m, "ssh_pwauth: [false]");
    expect(broken).toContain("ssh_pwauth: [false]");
    const r = await schema("broken-rendered.yaml", broken);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/ssh_pwauth/);
  });
});
