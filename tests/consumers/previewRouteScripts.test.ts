// The preview route scripts (components/render/previewRoute.ts) checked by the programs that run
// them: shellcheck -s sh on both (tests/consumers/shellcheck.ts), then both run by a real /bin/sh
// against a stand-in `docker` CLI. The stand-in runs `docker exec <c> <cmd...>` locally (so the
// in-container steps really write files into a temp previews dir) and answers `caddy reload` with
// a real `caddy validate` of a site that imports that dir.
import * as fs from "fs";
import * as path from "path";
import { renderPreviewRoute } from "../../components/render/caddyfile";
import { renderPreviewRouteScripts, PreviewRouteScriptArgs } from "../../components/render/previewRoute";
import { shellcheckText } from "./shellcheck";
import { describeRun, removeDir, requireBinary, run, tmpDir } from "./util";

const FAKE_DOCKER = `#!/bin/sh
# Stand-in docker CLI: logs every call, lists containers by label, runs exec'd commands locally.
set -eu
printf '%s\\n' "$*" >>"$FAKE_DOCKER_LOG"
cmd=$1
shift
case "$cmd" in
  ps)
    if [ "\${FAKE_DOCKER_DOWN:-}" = 1 ]; then echo "Cannot connect to the Docker daemon" >&2; exit 1; fi
    [ "$1" = -q ] && [ "$2" = --filter ] || { echo "unexpected ps args: $*" >&2; exit 2; }
    if [ "$3" = "label=twinstack.proxy=$FAKE_PROXY_LABEL" ]; then
      for c in $FAKE_CONTAINERS; do echo "$c"; done
    fi
    ;;
  exec)
    if [ "$1" = -i ]; then shift; fi
    shift # container id
    if [ "$1" = caddy ] && [ "$2" = reload ]; then
      exec "$CADDY_BIN" validate --config "$FAKE_CADDYFILE" --adapter caddyfile
    fi
    exec "$@"
    ;;
  *) echo "unexpected docker command $cmd" >&2; exit 2 ;;
esac
`;

interface Sandbox {
  dir: string;
  previewsDir: string;
  log: string;
  env: NodeJS.ProcessEnv;
}

let caddy: string;
const sandboxes: string[] = [];

beforeAll(() => {
  caddy = requireBinary("caddy");
});
afterAll(() => sandboxes.forEach(removeDir));

function sandbox(containers = "c0ffee01", extra: NodeJS.ProcessEnv = {}): Sandbox {
  const dir = tmpDir("twinstack-preview-route-");
  sandboxes.push(dir);
  const bin = path.join(dir, "bin");
  const previewsDir = path.join(dir, "previews");
  fs.mkdirSync(bin);
  fs.mkdirSync(previewsDir);
  fs.writeFileSync(path.join(bin, "docker"), FAKE_DOCKER, { mode: 0o755 });
  const caddyfile = path.join(dir, "Caddyfile");
  fs.writeFileSync(caddyfile, ["{", "\tadmin off", "\tauto_https off", "}", "http://dev.example.test {", `\timport ${previewsDir}/*.caddy`, '\trespond "dev"', "}", ""].join("\n"));
  const log = path.join(dir, "docker.log");
  fs.writeFileSync(log, "");
  return {
    dir,
    previewsDir,
    log,
    env: {
      PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      HOME: dir,
      XDG_DATA_HOME: path.join(dir, "data"),
      XDG_CONFIG_HOME: path.join(dir, "config"),
      FAKE_DOCKER_LOG: log,
      FAKE_PROXY_LABEL: "gigi-dev",
      FAKE_CONTAINERS: containers,
      FAKE_CADDYFILE: caddyfile,
      CADDY_BIN: caddy,
      ...extra,
    },
  };
}

function scriptsFor(box: Sandbox, overrides: Partial<PreviewRouteScriptArgs> = {}) {
  const slug = overrides.slug ?? "feat-x";
  return renderPreviewRouteScripts({
    slug,
    snippet: renderPreviewRoute({ slug, upstream: `preview-${slug}:3000` }),
    proxyLabel: "gigi-dev",
    previewsDir: box.previewsDir,
    ...overrides,
  });
}

/** Runs a script the way command.local.Command does: /bin/sh -c <script>. */
function sh(script: string, box: Sandbox) {
  return run("/bin/sh", ["-c", script], { env: box.env });
}

describe("preview route scripts", () => {
  test.each(["create", "delete"] as const)("the %s script passes shellcheck -s sh", async (which) => {
    const scripts = renderPreviewRouteScripts({
      slug: "feat-x",
      snippet: renderPreviewRoute({ slug: "feat-x", upstream: "preview-feat-x:3000" }),
      proxyLabel: "gigi-dev",
      previewsDir: "/etc/caddy/previews",
    });
    expect(await shellcheckText(`preview-route-${which}.sh`, scripts[which], { shell: "sh" })).toEqual([]);
  });

  test("create writes <slug>.caddy into the proxy, Caddy accepts it, delete removes it", async () => {
    const box = sandbox();
    const scripts = scriptsFor(box);
    const file = path.join(box.previewsDir, "feat-x.caddy");

    const created = await sh(scripts.create, box);
    expect(created.code).toBe(0);
    expect(fs.readFileSync(file, "utf8")).toBe(renderPreviewRoute({ slug: "feat-x", upstream: "preview-feat-x:3000" }));
    expect(fs.readdirSync(box.previewsDir)).toEqual(["feat-x.caddy"]);
    const calls = fs.readFileSync(box.log, "utf8");
    expect(calls).toContain("ps -q --filter label=twinstack.proxy=gigi-dev");
    expect(calls).toContain("exec c0ffee01 caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile");

    // Running create again (an update) replaces the file and leaves no .prev behind.
    expect((await sh(scripts.create, box)).code).toBe(0);
    expect(fs.readdirSync(box.previewsDir)).toEqual(["feat-x.caddy"]);

    const deleted = await sh(scripts.delete, box);
    expect(deleted.code).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.readFileSync(box.log, "utf8").trim().split("\n").pop()).toBe("exec c0ffee01 caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile");
    // Delete is idempotent (a retried destroy).
    expect((await sh(scripts.delete, box)).code).toBe(0);
  });

  test("a snippet Caddy rejects is rolled back to the previous route and the script fails", async () => {
    const box = sandbox();
    const good = scriptsFor(box);
    expect((await sh(good.create, box)).code).toBe(0);
    const file = path.join(box.previewsDir, "feat-x.caddy");
    const before = fs.readFileSync(file, "utf8");

    const bad = scriptsFor(box, { snippet: "handle_path /preview/feat-x/* {\n\tno_such_directive on\n}\n" });
    const r = await sh(bad.create, box);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("rejected the route");
    expect(fs.readFileSync(file, "utf8")).toBe(before);
    expect(fs.readdirSync(box.previewsDir)).toEqual(["feat-x.caddy"]);
  });

  test("a rejected first route leaves no file behind", async () => {
    const box = sandbox();
    const bad = scriptsFor(box, { snippet: "handle_path /preview/feat-x/* {\n\tno_such_directive on\n}\n" });
    expect((await sh(bad.create, box)).code).not.toBe(0);
    expect(fs.readdirSync(box.previewsDir)).toEqual([]);
  });

  test("the snippet is written verbatim: nothing in it is expanded or executed", async () => {
    const box = sandbox();
    const marker = path.join(box.dir, "pwned");
    const snippet = `# $(touch ${marker}) \`touch ${marker}\` $HOME '"\\ \${x}\n# TWINSTACK_PREVIEW_ROUTE_SNIPPET not alone on its line\n`;
    // Caddy would reject this, so the script rolls back: check what reached the container's stdin.
    const scripts = scriptsFor(box, { snippet });
    box.env.FAKE_CADDYFILE = path.join(box.dir, "accept-all");
    fs.writeFileSync(box.env.FAKE_CADDYFILE, "http://dev.example.test {\n\trespond ok\n}\n");
    const r = await sh(scripts.create, box);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(box.previewsDir, "feat-x.caddy"), "utf8")).toBe(snippet);
    expect(fs.existsSync(marker)).toBe(false);
  });

  test("every matching proxy container gets the route", async () => {
    const box = sandbox("aaaa1111 bbbb2222");
    const r = await sh(scriptsFor(box).create, box);
    expect(r.code).toBe(0);
    const calls = fs.readFileSync(box.log, "utf8");
    expect(calls).toContain("exec aaaa1111 caddy reload");
    expect(calls).toContain("exec bbbb2222 caddy reload");
  });

  test("create fails without a proxy container; delete then has nothing to do", async () => {
    const box = sandbox("");
    const scripts = scriptsFor(box);
    const created = await sh(scripts.create, box);
    expect(created.code).not.toBe(0);
    expect(created.stderr).toContain("no running container labelled twinstack.proxy=gigi-dev");
    const deleted = await sh(scripts.delete, box);
    expect(deleted.code).toBe(0);
    expect(deleted.stderr).toContain("no proxy to remove the route from");
  });

  test("both fail when Docker cannot be reached (never a silent no-op)", async () => {
    const box = sandbox("c0ffee01", { FAKE_DOCKER_DOWN: "1" });
    const scripts = scriptsFor(box);
    for (const script of [scripts.create, scripts.delete]) {
      const r = await sh(script, box);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("Cannot connect");
    }
  });

  test("the proxy label is matched exactly", async () => {
    const box = sandbox();
    const r = await sh(scriptsFor(box, { proxyLabel: "gigi-prod" }).create, box);
    expect(r.code).not.toBe(0);
    expect(fs.readdirSync(box.previewsDir)).toEqual([]);
    expect(describeRun("create", r)).toContain("twinstack.proxy=gigi-prod");
  });
});

describe("renderPreviewRouteScripts input checks", () => {
  const base: PreviewRouteScriptArgs = { slug: "feat-x", snippet: "# x\n", proxyLabel: "gigi-dev", previewsDir: "/etc/caddy/previews" };
  test.each([
    [{ slug: "Feat-X" }, /slug/],
    [{ slug: "feat x" }, /slug/],
    [{ slug: "../x" }, /slug/],
    [{ previewsDir: "relative/dir" }, /previewsDir/],
    [{ previewsDir: "/etc/caddy/../x" }, /previewsDir/],
    [{ previewsDir: "/etc/$(id)" }, /previewsDir/],
    [{ proxyLabel: "gigi dev" }, /proxyLabel/],
    [{ snippet: "" }, /snippet/],
  ] as [Partial<PreviewRouteScriptArgs>, RegExp][])("rejects %p", (overrides, message) => {
    expect(() => renderPreviewRouteScripts({ ...base, ...overrides })).toThrow(message);
  });
});
