// Real consumer: shellcheck (all severities) over every scripts/**/*.sh in the repo and over
// the scripts the program renders: the runner bootstrap script for both forges, golden image or
// not, ephemeral or not.
//
// Mutations tried to prove these tests bite (each reverted):
// - scripts/runner-bootstrap.sh (then BOOTSTRAP_BODY) installing `$WORK_DIR/runner` unquoted: every rendered-script case fails
//   with SC2086 ("Double quote to prevent globbing and word splitting").
// - a scripts/zz-mutant.sh containing `rm -rf $1/*`: the repo-scripts case fails (SC2115,
//   SC2086).

import * as fs from "fs";
import * as path from "path";
import { BODY_MARKER, scriptBody } from "../../components/render/scriptFile";
import { RunnerCloudInitArgs, renderRunnerBootstrapScript } from "../../components/render/cloudInit";
import { renderAssignScript, renderCloudVipEntrypoint } from "../../components/render/cloudVip";
import { renderPreviewRoute } from "../../components/render/caddyfile";
import { renderPreviewRouteScripts } from "../../components/render/previewRoute";
import { renderPreReleaseBackupScript, renderReleaseScript } from "../../components/render/release";
import { renderProxyConfigScript } from "../../components/render/proxyConfig";
import { renderExtensionsInitScript } from "../../components/render/pgInit";
import { KEEPALIVED_ENTRYPOINT } from "../../components/virtualIp";
import { READY_SCRIPT, swarmInitScript, swarmJoinScript, swarmLabelScript } from "../../components/render/swarmScripts";
import { findShellScripts, shellcheckFiles, shellcheckText, shellcheckTexts } from "./shellcheck";

const REPO = path.resolve(__dirname, "../..");

// The four shellcheck runs below (repo scripts, e2e scripts, the bootstrap variants, the rendered
// scripts) are independent: all start side by side before the first case; each case awaits its own.
const repoScripts = findShellScripts(path.join(REPO, "scripts")).map((s) => path.join("scripts", s));
const e2eScripts = findShellScripts(path.join(REPO, "tests", "e2e")).map((s) => path.join("tests", "e2e", s));
let repoFindings: Promise<string[]>;
let e2eFindings: Promise<string[]>;

describe("shellcheck gate", () => {
  beforeAll(() => {
    repoFindings = shellcheckFiles(repoScripts, {}, REPO);
    e2eFindings = shellcheckFiles(e2eScripts, {}, REPO);
    // Awaited by their cases; a failure surfaces there.
    for (const p of [repoFindings, e2eFindings, bootstrap(), renderedChecked()]) p.catch(() => undefined);
  });

  it("passes every scripts/**/*.sh in the repo", async () => {
    const scripts = repoScripts;
    // Zero scripts is fine (the rendered ones below are always checked); report what ran.
    const findings = await repoFindings;
    expect({ scripts, findings }).toEqual({ scripts, findings: [] });
  });

  it("passes the e2e engine, image build and entrypoint scripts (tests/e2e/**/*.sh)", async () => {
    const scripts = e2eScripts;
    expect(scripts).toEqual(expect.arrayContaining(["tests/e2e/engine.sh", "tests/e2e/images/build.sh"]));
    const findings = await e2eFindings;
    expect({ scripts, findings }).toEqual({ scripts, findings: [] });
  });

  const variants: Array<Pick<RunnerCloudInitArgs, "forge" | "installDocker" | "ephemeral">> = [];
  for (const forge of ["forgejo", "gitea"] as const) {
    for (const installDocker of [true, false]) {
      for (const ephemeral of [true, false]) variants.push({ forge, installDocker, ephemeral });
    }
  }

  // The eight variants go through one shellcheck process (shellcheckTexts), started by the first
  // case; each case asserts on its own script's findings.
  let bootstrapFindings: Promise<string[][]> | undefined;
  const bootstrap = () =>
    (bootstrapFindings ??= shellcheckTexts(
      variants.map((v) => ({
        name: `runner-bootstrap-${v.forge}.sh`,
        text: renderRunnerBootstrapScript({
          ...v,
          forgeUrl: "https://git.example.com/",
          registrationToken: "0123456789abcdefTOKEN",
          runnerName: `ci-${v.forge}-1`,
          labels: ["ephemeral", "dev", "ubuntu-latest:docker://node:20-bookworm"],
          runnerVersion: v.forge === "gitea" ? "0.2.11" : "6.3.1",
        }),
      })),
    ));

  it.each(variants.map((v, i) => [v, i] as const))("passes the runner bootstrap script: %o", async (_v, i) => {
    expect((await bootstrap())[i]).toEqual([]);
  });

  // The scripts rendered from scripts/<name>.sh with a header of settings (docs/ARCHITECTURE.md,
  // "Shell scripts"), as shipped; their files are in the repo-scripts case above.
  const previewRoute = () =>
    renderPreviewRouteScripts({
      slug: "feat-x",
      snippet: renderPreviewRoute({ slug: "feat-x", upstream: "preview-feat-x:3000" }),
      proxyLabel: "gigi-dev",
      previewsDir: "/etc/caddy/previews",
    });
  const rendered: Array<[string, () => string]> = [
    ["swarm-init.sh", () => swarmInitScript("10.0.1.11")],
    ["swarm-join.sh", () => swarmJoinScript("10.0.1.12", "10.0.1.11")],
    ["swarm-label.sh", () => swarmLabelScript("node2", "abc123")],
    ["host-ready.sh", () => READY_SCRIPT],
    ["pg-extensions.sh", () => renderExtensionsInitScript(["vector", "uuid-ossp", "pg_trgm"])],
    ["preview-route-add.sh", () => previewRoute().create],
    ["preview-route-remove.sh", () => previewRoute().delete],
    [
      "release.sh",
      () =>
        renderReleaseScript({
          containerName: "makapix-prod-release",
          image: "ghcr.io/makapix/makapix:v1.8.0",
          network: "makapix-prod-net",
          extraNetworks: ["lugh-shared"],
          envNames: ["DATABASE_URL", "APP_ENV"],
          command: ["alembic", "upgrade", "head"],
          labels: { "twinstack.env": "prod" },
          limits: { cpus: 0.5, memoryMb: 256 },
        }),
    ],
    ["pre-release-backup.sh", () => renderPreReleaseBackupScript("makapix-prod-backup", "/usr/local/bin/twinstack-backup.sh")],
    ["proxy-config.sh", () => renderProxyConfigScript({ containerName: "gigi-prod-proxy", caddyfilePath: "/etc/caddy/Caddyfile" })],
    [
      "vip-entrypoint.sh",
      () =>
        renderCloudVipEntrypoint({
          provider: "hcloud",
          address: "203.0.113.50",
          privateAddress: "10.0.1.2",
          publicInterface: "eth0",
          confPath: "/etc/keepalived/twinstack.conf",
          runtimeConfPath: "/run/k.conf",
          hostNetplanDir: "/host/etc/netplan",
        }),
    ],
    ["vip-nonlocal-bind.sh", () => KEEPALIVED_ENTRYPOINT[2]],
    ["vip-notify-master.sh", () => renderAssignScript({ provider: "hcloud", ip: "4711", serverId: "4242", tokenFile: "/etc/keepalived/token" })],
  ];

  // A shared prologue (a body the renderer puts before another script's own) has no case of its
  // own: the rendered scripts that carry it check it.
  const PROLOGUES = ["preview-route-prologue.sh"];

  it("covers every settings script file in scripts/ (each has a rendered case here)", () => {
    const files = findShellScripts(path.join(REPO, "scripts")).filter(
      (f) => f !== "runner-bootstrap.sh" && !PROLOGUES.includes(f) && fs.readFileSync(path.join(REPO, "scripts", f), "utf8").includes(BODY_MARKER),
    );
    expect(files.sort()).toEqual(rendered.map(([name]) => name).sort());
  });

  it.each(PROLOGUES)("ships the prologue %s inside a rendered case, before that script's own body", (prologue) => {
    const carriers = rendered.filter(([, render]) => render().includes(scriptBody(prologue)));
    expect(carriers.length).toBeGreaterThan(0);
    for (const [name, render] of carriers) expect(render().endsWith(scriptBody(prologue) + scriptBody(name))).toBe(true);
  });

  // All rendered scripts through one shellcheck process (shellcheckTexts), started by the first case.
  let renderedFindings: Promise<string[][]> | undefined;
  const renderedChecked = () =>
    (renderedFindings ??= shellcheckTexts(
      rendered.map(([name, render]) => ({ name, text: render() })),
      { shell: "sh" },
    ));

  it.each(rendered.map(([name], i) => [name, i] as const))("passes the rendered %s", async (_name, i) => {
    expect((await renderedChecked())[i]).toEqual([]);
  });

  it("attributes each script's findings to it when several are checked in one process", async () => {
    const [clean, bad, badAgain] = await shellcheckTexts([
      { name: "clean.sh", text: "#!/bin/sh\necho ok\n" },
      { name: "bad.sh", text: "#!/bin/sh\nrm -rf $1/*\n" },
      { name: "bad.sh", text: "#!/bin/sh\necho ok\nrm -rf $1/*\n" },
    ]);
    expect(clean).toEqual([]);
    expect(bad.join("\n")).toMatch(/SC2115|SC2086/);
    expect(bad.every((f) => /^bad\.sh:2:/.test(f))).toBe(true);
    expect(badAgain.length).toBeGreaterThan(0);
    expect(badAgain.every((f) => /^bad\.sh:3:/.test(f))).toBe(true);
  });

  it("reports findings for a bad script (the helper itself bites)", async () => {
    const findings = await shellcheckText("bad.sh", "#!/bin/sh\nrm -rf $1/*\n");
    expect(findings.join("\n")).toMatch(/SC2115|SC2086/);
    expect(findings[0]).toMatch(/^bad\.sh:2:/);
  });

  it("rejects a name that is a path", async () => {
    await expect(shellcheckText("../x.sh", "#!/bin/sh\n")).rejects.toThrow(/plain file name/);
  });
});
