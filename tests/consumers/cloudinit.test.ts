// Real consumer: Debian's cloud-init validates the rendered user data against its own schema.
// Invocation that works with cloud-init 22.4 without root or instance paths:
//   cloud-init schema --config-file <file>
// All documents go through one Python process (tests/consumers/cloudInitSchema.py) that calls the
// CLI's entry point with that argv once per file: the same checks and messages, ~0.5 s of start-up
// (Python + cloud-init's imports) once instead of once per document.
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

let dir: string;
beforeAll(() => {
  dir = tmpDir("twinstack-cloudinit-");
});
afterAll(() => removeDir(dir));

/**
 * `cloud-init schema --config-file <file>` for every document at once: one run of
 * cloudInitSchema.py under the interpreter of the cloud-init script's shebang (Debian's
 * /usr/bin/python3, where the cloudinit package is installed), giving each file the RunResult its
 * own CLI run would have (exit status, stdout, stderr).
 */
async function schemaAll(docs: Array<[string, string]>): Promise<Map<string, RunResult>> {
  const cloudInit = requireBinary("cloud-init");
  const python = /^#!\s*(\S+)/.exec(fs.readFileSync(cloudInit, "utf8").split("\n", 1)[0])?.[1];
  if (!python) throw new Error(`${cloudInit}: no #! interpreter line`);
  const files = docs.map(([name, userData]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, userData, { mode: 0o600 });
    return file;
  });
  // 50 s (under jest's 60 s test timeout): on the loaded 2-core machine one `cloud-init schema`
  // printed "Valid cloud-config" and was still exiting at 20 s (a full npm test run failed there).
  const r = await run(python, [path.join(__dirname, "cloudInitSchema.py"), ...files], { timeoutMs: 50_000 });
  if (r.code !== 0) throw new Error(describeRun("cloudInitSchema.py", r));
  const results = JSON.parse(r.stdout) as Array<{ file: string; code: number; stdout: string; stderr: string }>;
  expect(results.map((x) => x.file)).toEqual(files);
  return new Map(results.map((x, i) => [docs[i][0], { code: x.code, signal: null, stdout: x.stdout, stderr: x.stderr, timedOut: false }]));
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

  const brokenRendered = renderRunnerCloudInit(runner({})).replace(/^ssh_pwauth: false$/m, "ssh_pwauth: [false]");
  // Started by the first test that needs it; every test reads its own document's result.
  let all: Promise<Map<string, RunResult>> | undefined;
  const schema = async (name: string) => {
    all ??= schemaAll([...cases, ["broken.yaml", "#cloud-config\nruncmd: 5\n"], ["broken-rendered.yaml", brokenRendered]]);
    const r = (await all).get(name);
    if (!r) throw new Error(`no cloud-init schema result for ${name}`);
    return r;
  };

  it.each(cases)("accepts %s", async (name) => {
    const r = await schema(name);
    if (r.code !== 0) throw new Error(describeRun(`cloud-init schema ${name}`, r));
    expect(r.stdout).toContain("Valid cloud-config");
    expect(r.stdout + r.stderr).not.toMatch(/deprecat/i);
  });

  it("rejects a broken document (runcmd: 5)", async () => {
    const r = await schema("broken.yaml");
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/runcmd: 5 is not of type 'array'/);
  });

  it("rejects a rendered document with a wrongly typed module key", async () => {
    expect(brokenRendered).toContain("ssh_pwauth: [false]");
    const r = await schema("broken-rendered.yaml");
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/ssh_pwauth/);
  });
});
