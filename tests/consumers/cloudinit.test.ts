// Real consumer: Debian's cloud-init validates the rendered user data against its own schema.
// Invocation that works with cloud-init 22.4 without root or instance paths:
//   cloud-init schema --config-file <file>
// All documents go through one Python process that calls the CLI's entry point with that argv once
// per file (runConsoleScript, tests/consumers/consoleScriptBatch.py): the same checks, messages
// and exit status, ~0.5 s of start-up (Python + cloud-init's imports) once instead of per document.
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
import { describeRun, removeDir, requireBinary, RunResult, runConsoleScript, tmpDir } from "./util";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHtwaW5zdGFja3Rlc3RrZXlub3RyZWFs admin@twinstack";

let dir: string;
beforeAll(() => {
  dir = tmpDir("twinstack-cloudinit-");
});
afterAll(() => removeDir(dir));

/** `cloud-init schema --config-file <file>` for every document, in one process (runConsoleScript). */
async function schemaAll(docs: Array<[string, string]>): Promise<Map<string, RunResult>> {
  const files = docs.map(([name, userData]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, userData, { mode: 0o600 });
    return file;
  });
  // 50 s (under jest's 60 s test timeout): on the loaded 2-core machine one `cloud-init schema`
  // printed "Valid cloud-config" and was still exiting at 20 s (a full npm test run failed there).
  const results = await runConsoleScript(
    requireBinary("cloud-init"),
    files.map((file) => ["schema", "--config-file", file]),
    { timeoutMs: 50_000 },
  );
  return new Map(results.map((r, i) => [docs[i][0], r]));
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
