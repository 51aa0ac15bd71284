import YAML from "yaml";
import {
  CLOUD_INIT_PATHS,
  RunnerCloudInitArgs,
  renderDockerHostCloudInit,
  renderRunnerBootstrapScript,
  renderRunnerCloudInit,
  renderRunnerUnit,
} from "../components/render/cloudInit";

const TOKEN = "Zq81TOKENnotForLogs0123456789abcdefABCD";
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHtwaW5zdGFja3Rlc3RrZXlub3RyZWFs admin@twinstack";

function runnerArgs(over: Partial<RunnerCloudInitArgs> = {}): RunnerCloudInitArgs {
  return {
    forge: "forgejo",
    forgeUrl: "https://git.example.com",
    registrationToken: TOKEN,
    runnerName: "ci-dev-runner-1",
    labels: ["ephemeral", "dev", "ubuntu-latest:docker://node:20-bookworm"],
    runnerVersion: "6.3.1",
    installDocker: true,
    ephemeral: true,
    sshAuthorizedKeys: [KEY],
    ...over,
  };
}

interface WriteFile {
  path: string;
  content: string;
  owner?: string;
  permissions?: string;
}

function parse(userData: string): Record<string, any> {
  expect(userData.startsWith("#cloud-config\n")).toBe(true);
  return YAML.parse(userData, { version: "1.1" });
}

function file(doc: Record<string, any>, path: string): WriteFile {
  const f = (doc.write_files as WriteFile[]).find((w) => w.path === path);
  if (!f) throw new Error(`no write_files entry for ${path}`);
  return f;
}

describe("renderRunnerCloudInit", () => {
  it.each(["forgejo", "gitea"] as const)("%s: token only in a 0600 root file, script run by runcmd", (forge) => {
    const doc = parse(renderRunnerCloudInit(runnerArgs({ forge, runnerVersion: forge === "gitea" ? "0.2.11" : "6.3.1" })));
    const token = file(doc, CLOUD_INIT_PATHS.tokenFile);
    expect(token.content.trim()).toBe(TOKEN);
    expect(token.permissions).toBe("0600");
    expect(token.owner).toBe("root:root");

    const runcmd = JSON.stringify(doc.runcmd);
    expect(runcmd).not.toContain(TOKEN);
    expect(doc.runcmd).toContainEqual([CLOUD_INIT_PATHS.bootstrapScript, "install"]);

    // The token appears exactly once in the whole document: the token file.
    const others = (doc.write_files as WriteFile[]).filter((w) => w.path !== CLOUD_INIT_PATHS.tokenFile);
    for (const w of others) expect(w.content).not.toContain(TOKEN);
    expect(file(doc, CLOUD_INIT_PATHS.bootstrapScript).permissions).toBe("0700");
  });

  it("installs docker.io from the distro only when asked", () => {
    const withDocker = parse(renderRunnerCloudInit(runnerArgs({ installDocker: true })));
    expect(withDocker.packages).toContain("docker.io");
    expect(withDocker.package_update).toBe(true);
    const golden = parse(renderRunnerCloudInit(runnerArgs({ installDocker: false })));
    expect(golden.packages).toBeUndefined();
    expect(golden.package_update).toBeUndefined();
    const script = file(golden, CLOUD_INIT_PATHS.bootstrapScript).content;
    expect(script).toContain("readonly INSTALL_RUNNER='false'");
  });

  it("carries labels, name, URL and version into the bootstrap script", () => {
    const script = renderRunnerBootstrapScript(runnerArgs());
    expect(script).toContain("readonly RUNNER_LABELS='ephemeral,dev,ubuntu-latest:docker://node:20-bookworm'");
    expect(script).toContain("readonly RUNNER_NAME='ci-dev-runner-1'");
    expect(script).toContain("readonly FORGE_URL='https://git.example.com'");
    expect(script).toContain("readonly RUNNER_VERSION='6.3.1'");
    expect(script).toContain("readonly RUNNER_BIN='/usr/local/bin/forgejo-runner'");
    expect(script).not.toContain(TOKEN);
    expect(script).not.toMatch(/^\s*set -[a-z]*x/m); // tracing would print the token
    expect(script.startsWith("#!/bin/bash\n")).toBe(true);
  });

  it("gitea uses act_runner with --ephemeral; forgejo uses one-job", () => {
    const gitea = renderRunnerBootstrapScript(runnerArgs({ forge: "gitea", runnerVersion: "0.2.11" }));
    expect(gitea).toContain("readonly RUNNER_BIN='/usr/local/bin/act_runner'");
    expect(gitea).toContain("extra+=(--ephemeral)");
    expect(gitea).toContain("dl.gitea.com/act_runner");
    const forgejo = renderRunnerBootstrapScript(runnerArgs());
    expect(forgejo).toContain("one-job");
    expect(forgejo).toContain("code.forgejo.org/forgejo/runner/releases/download");
  });

  it("ephemeral runners restart forever; persistent ones only on failure", () => {
    expect(renderRunnerUnit(runnerArgs({ ephemeral: true }))).toMatch(/^Restart=always$/m);
    expect(renderRunnerUnit(runnerArgs({ ephemeral: false }))).toMatch(/^Restart=on-failure$/m);
    expect(renderRunnerUnit(runnerArgs())).toContain(`ExecStart=${CLOUD_INIT_PATHS.bootstrapScript} run`);
  });

  it("hardens sshd and passes the keys", () => {
    const doc = parse(renderRunnerCloudInit(runnerArgs()));
    expect(doc.ssh_pwauth).toBe(false);
    expect(doc.ssh_authorized_keys).toEqual([KEY]);
    const sshd = file(doc, CLOUD_INIT_PATHS.sshdDropIn).content;
    expect(sshd).toMatch(/^PasswordAuthentication no$/m);
    // Root keeps key login on runners: it is the default user on DigitalOcean images.
    expect(sshd).toMatch(/^PermitRootLogin prohibit-password$/m);
    // KbdInteractiveAuthentication would make OpenSSH < 8.7 refuse to start.
    expect(sshd).toMatch(/^ChallengeResponseAuthentication no$/m);
    expect(sshd).not.toContain("KbdInteractiveAuthentication");
  });

  it.each<[string, Partial<RunnerCloudInitArgs>, RegExp]>([
    ["ftp URL", { forgeUrl: "ftp://git.example.com" }, /forgeUrl must be http\(s\)/],
    ["not a URL", { forgeUrl: "git.example.com" }, /forgeUrl .* is not a URL/],
    ["URL with credentials", { forgeUrl: "https://u:p@git.example.com" }, /credentials/],
    ["label with a space", { labels: ["ubuntu latest"] }, /labels\[0\].*whitespace, commas/],
    ["label with a comma", { labels: ["a,b"] }, /labels\[0\].*commas/],
    ["no labels", { labels: [] }, /at least one label/],
    ["duplicate label name", { labels: ["x", "x:docker://alpine"] }, /repeats the label name/],
    ["runner name with underscore", { runnerName: "ci_runner" }, /runnerName .* DNS-safe/],
    ["runner name too long", { runnerName: "a".repeat(64) }, /DNS-safe/],
    ["version with v", { runnerVersion: "v6.3.1" }, /no leading "v"/],
    ["empty token", { registrationToken: "" }, /registrationToken is empty/],
    ["bad ssh key", { sshAuthorizedKeys: ["not a key"] }, /sshAuthorizedKeys\[0\]/],
  ])("rejects %s", (_name, over, message) => {
    expect(() => renderRunnerCloudInit(runnerArgs(over))).toThrow(message);
    expect(() => renderRunnerBootstrapScript(runnerArgs(over))).toThrow(message);
  });

  it("never puts the token in an error message", () => {
    const bad = "secret with spaces";
    expect(() => renderRunnerCloudInit(runnerArgs({ registrationToken: bad }))).toThrow(/registrationToken/);
    try {
      renderRunnerCloudInit(runnerArgs({ registrationToken: bad }));
    } catch (e) {
      expect(String((e as Error).message)).not.toContain(bad);
    }
  });

  it("quotes every script setting so no value can break out", () => {
    // Labels allow shell metacharacters; they must stay inside single quotes.
    const script = renderRunnerBootstrapScript(runnerArgs({ labels: ["weird'$(id)`x`"] }));
    expect(script).toContain(`readonly RUNNER_LABELS='weird'\\''$(id)\`x\`'`);
  });
});

describe("renderDockerHostCloudInit", () => {
  it("adds the admin user to docker, locks passwords, hardens sshd", () => {
    const doc = parse(renderDockerHostCloudInit({ adminUser: "ops", sshAuthorizedKeys: [KEY] }));
    expect(doc.packages).toContain("docker.io");
    expect(doc.groups).toContain("docker");
    const user = doc.users[0];
    expect(user.name).toBe("ops");
    expect(user.groups).toContain("docker");
    expect(user.lock_passwd).toBe(true);
    expect(user.ssh_authorized_keys).toEqual([KEY]);
    expect(doc.ssh_pwauth).toBe(false);
    expect(doc.disable_root).toBe(true);
    const sshd = file(doc, CLOUD_INIT_PATHS.sshdDropIn).content;
    expect(sshd).toMatch(/^PasswordAuthentication no$/m);
    expect(sshd).toMatch(/^PermitRootLogin no$/m);
    expect(JSON.parse(file(doc, CLOUD_INIT_PATHS.dockerDaemonJson).content)["live-restore"]).toBe(true);
  });

  it("turns live-restore off for swarm", () => {
    const doc = parse(renderDockerHostCloudInit({ adminUser: "ops", sshAuthorizedKeys: [KEY], swarm: true }));
    expect(JSON.parse(file(doc, CLOUD_INIT_PATHS.dockerDaemonJson).content)["live-restore"]).toBe(false);
  });

  it("rejects root, bad names and no keys", () => {
    expect(() => renderDockerHostCloudInit({ adminUser: "root", sshAuthorizedKeys: [KEY] })).toThrow(/adminUser/);
    expect(() => renderDockerHostCloudInit({ adminUser: "Ops Team", sshAuthorizedKeys: [KEY] })).toThrow(/adminUser/);
    expect(() => renderDockerHostCloudInit({ adminUser: "ops", sshAuthorizedKeys: [] })).toThrow(/at least one key/);
  });
});
