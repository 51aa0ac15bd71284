// Real-consumer tests for the Caddyfile renderer: `caddy validate` on rendered files, then a real
// Caddy on 127.0.0.1 in front of small upstream servers (same routes/auth/headers, TLS swapped for
// plain-HTTP listeners on a free port). Fails, never skips, when /usr/bin/caddy is missing.
//
// Mutations tried to prove these tests bite (each made by hand, run, then reverted):
//  - dropping `basicAuth` from the dev site: the 401 checks fail ("dev without credentials -> 401",
//    "wrong password or unknown user -> 401", the websocket and preview 401s): Caddy proxies to the app.
//  - dropping the `uri strip_prefix` line from the renderer: "/gitea/x reaches gitea as /x" fails
//    (gitea sees /gitea/x).
//  - rendering the headers only deferred (`header { ...; defer }`): the 401 carries no X-Robots-Tag;
//    only immediate: the dev app's own "X-Robots-Tag: all" survives beside ours.
//  - dropping the `import <dir>/*.caddy` line from the renderer: the preview test fails (404 after the
//    snippet is written and Caddy reloaded).
import bcrypt from "bcryptjs";
import { execFileSync } from "child_process";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { ProxySite, renderCaddyfile, renderPreviewRoute } from "../../components/render/caddyfile";
import { caddyValidate, freePort, loopbackSites, request, requireCaddy, RunningCaddy, startCaddy, startUpstream, Upstream, websocketEcho } from "./caddy";

const DEV_USER = "dev";
const DEV_PASSWORD = "correct horse battery staple";
// bcryptjs at cost 10, as `caddy hash-password` would produce; computed once per run.
const DEV_HASH = bcrypt.hashSync(DEV_PASSWORD, 10);
const devAuth = { user: DEV_USER, password: DEV_PASSWORD };

const PROD_DOMAIN = "app.example.com";
const DEV_DOMAIN = "dev.example.com";

function prodSite(upstreams: { app: string; ws: string }): ProxySite {
  return {
    domains: [PROD_DOMAIN, "www.example.com"],
    tls: { mode: "acme" },
    routes: [
      { path: "/", upstream: upstreams.app },
      { path: "/ws", upstream: upstreams.ws, websocket: true },
    ],
  };
}

function devSite(upstreams: { app: string; gitea: string; ws: string }, importDir: string): ProxySite {
  return {
    domains: [DEV_DOMAIN],
    tls: { mode: "internal" },
    basicAuth: [{ user: DEV_USER, bcryptHash: DEV_HASH }],
    headers: { "X-Robots-Tag": "noindex, nofollow" },
    importDir,
    routes: [
      { path: "/", upstream: upstreams.app },
      { path: "/gitea/", upstream: upstreams.gitea, stripPrefix: true },
      { path: "/ws", upstream: upstreams.ws, websocket: true },
    ],
  };
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "twinstack-caddy-test-"));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

test("caddy is installed (CI installs the Debian package; nothing is skipped)", () => {
  expect(requireCaddy()).toBeTruthy();
});

describe("caddy validate accepts rendered Caddyfiles", () => {
  test("prod-like site with ACME TLS, IPv6 upstreams and a global email", () => {
    const text = renderCaddyfile([prodSite({ app: "[fd00::5]:3000", ws: "[::1]:8080" })], { email: "ops@example.com" });
    caddyValidate(text);
  });

  test("dev-like site with tls internal, basic auth, robots header and an import dir holding a preview", () => {
    const importDir = tempDir();
    writeFileSync(join(importDir, "feat-x.caddy"), renderPreviewRoute({ slug: "feat-x", upstream: "app-preview-feat-x:3000" }));
    const text = renderCaddyfile([devSite({ app: "app-dev-web:3000", gitea: "gitea-dev:3000", ws: "http://app-dev-web:3001" }, importDir)]);
    const { warnings } = caddyValidate(text);
    expect(warnings.join("\n")).not.toContain("No files matching import glob pattern");
  });

  test("certificate-mode site with an openssl-generated cert and key", () => {
    const dir = tempDir();
    const certFile = join(dir, "vault.crt");
    const keyFile = join(dir, "vault.key");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=files.example.com",
        "-addext",
        "subjectAltName=DNS:files.example.com",
        "-keyout",
        keyFile,
        "-out",
        certFile,
      ],
      { stdio: "pipe" },
    );
    const site: ProxySite = {
      domains: ["files.example.com"],
      tls: { mode: "certificate", certFile, keyFile },
      routes: [{ path: "/", upstream: "vault-prod:8080" }],
    };
    caddyValidate(renderCaddyfile([site]));
    // Proves validate really loads the files: a missing key is an error, not a silent pass.
    expect(() => caddyValidate(renderCaddyfile([{ ...site, tls: { mode: "certificate", certFile, keyFile: join(dir, "missing.key") } }]))).toThrow(/caddy validate failed/);
  });

  test("plain-HTTP vault site beside HTTPS sites", () => {
    const vault: ProxySite = { domains: ["vault.iot.example.com"], tls: { mode: "off" }, routes: [{ path: "/", upstream: "vault-prod:8080" }] };
    caddyValidate(renderCaddyfile([vault, prodSite({ app: "app:3000", ws: "app:3001" })], { httpPort: 8080, httpsPort: 8443 }));
  });

  test("the basic_auth spelling is rejected by Caddy < 2.8, which is why basicauth is the default", () => {
    const version = execFileSync(requireCaddy(), ["version"], { encoding: "utf8" });
    const [major, minor] = (/v?(\d+)\.(\d+)/.exec(version) ?? ["", "0", "0"]).slice(1).map(Number);
    const text = renderCaddyfile([devSite({ app: "a:1", gitea: "g:1", ws: "w:1" }, tempDir())], { basicAuthDirective: "basic_auth" });
    if (major > 2 || (major === 2 && minor >= 8)) caddyValidate(text);
    else expect(() => caddyValidate(text)).toThrow(/unrecognized directive: basic_auth/);
  });

  test("the helper reports Caddy's error for a broken file", () => {
    expect(() => caddyValidate("example.com {\n\treverse_proxy\n\tno_such_directive\n}\n")).toThrow(/no_such_directive/);
  });
});

describe("a real Caddy on loopback", () => {
  let port: number;
  let importDir: string;
  let caddyfile: string;
  let caddy: RunningCaddy | undefined;
  const up: Record<"prodApp" | "prodWs" | "devApp" | "devGitea" | "devWs" | "preview", Upstream> = {} as never;
  const devUpstreams = () => [up.devApp, up.devGitea, up.devWs, up.preview];
  const requestCount = (list: Upstream[]) => list.reduce((n, u) => n + u.requests.length, 0);

  beforeAll(async () => {
    const names = ["prodApp", "prodWs", "devApp", "devGitea", "devWs", "preview"] as const;
    // The dev app sends its own X-Robots-Tag: the proxy's value must replace it, not sit beside it.
    for (const name of names) up[name] = await startUpstream(name, name === "devApp" ? { "X-Robots-Tag": "all" } : {});
    port = await freePort();
    importDir = tempDir();
    const sites = [prodSite({ app: up.prodApp.address, ws: up.prodWs.address }), devSite({ app: up.devApp.address, gitea: up.devGitea.address, ws: up.devWs.address }, importDir)];
    // Both sites on one listener: Caddy must route by Host header alone.
    caddyfile = renderCaddyfile(loopbackSites(sites, () => port));
    caddy = await startCaddy(caddyfile);
  });

  afterAll(async () => {
    await caddy?.stop();
    await Promise.all(Object.values(up).map((u) => u.stop()));
  });

  const dev = (path: string, auth?: { user: string; password: string }) => request({ port, host: DEV_DOMAIN, path, auth });
  const prod = (path: string) => request({ port, host: PROD_DOMAIN, path });

  test("dev without credentials -> 401, and the upstream is never asked", async () => {
    const before = requestCount(devUpstreams());
    const res = await dev("/");
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toMatch(/^Basic/);
    expect(res.headers["x-robots-tag"]).toBe("noindex, nofollow");
    expect(requestCount(devUpstreams())).toBe(before);
  });

  test("dev with the right credentials -> 200 from the dev app, with X-Robots-Tag replacing the app's own", async () => {
    const res = await dev("/some/page", devAuth);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ name: "devApp", path: "/some/page" });
    expect(res.headers["x-robots-tag"]).toBe("noindex, nofollow");
  });

  test("dev with a wrong password or unknown user -> 401", async () => {
    expect((await dev("/", { user: DEV_USER, password: "wrong" })).status).toBe(401);
    expect((await dev("/", { user: "someone", password: DEV_PASSWORD })).status).toBe(401);
  });

  test("prod answers without credentials and without X-Robots-Tag", async () => {
    const res = await prod("/");
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).name).toBe("prodApp");
    expect(res.headers["x-robots-tag"]).toBeUndefined();
    expect(res.headers["www-authenticate"]).toBeUndefined();
  });

  test("/gitea/x reaches gitea as /x (prefix stripped); /gitea itself as /", async () => {
    const res = await dev("/gitea/x?q=1", devAuth);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ name: "devGitea", path: "/x?q=1" });
    expect(JSON.parse((await dev("/gitea", devAuth)).body)).toMatchObject({ name: "devGitea", path: "/" });
    // a longer name sharing the prefix is not the gitea route
    expect(JSON.parse((await dev("/giteax", devAuth)).body)).toMatchObject({ name: "devApp", path: "/giteax" });
  });

  test("/ws upgrades to the websocket upstream (behind basic auth on dev)", async () => {
    const ws = await websocketEcho({ port, host: DEV_DOMAIN, path: "/ws", auth: devAuth, message: "ping" });
    expect(ws.headers["x-upstream"]).toBe("devWs");
    expect(ws.headers["x-upstream-path"]).toBe("/ws");
    expect(ws.echoed).toBe("ping");
    await expect(websocketEcho({ port, host: DEV_DOMAIN, path: "/ws", message: "ping" })).rejects.toThrow(/HTTP 401/);
    const prodWs = await websocketEcho({ port, host: PROD_DOMAIN, path: "/ws", message: "pong" });
    expect(prodWs.headers["x-upstream"]).toBe("prodWs");
  });

  test("/preview/<slug>/ appears with its snippet and 404s after it is removed", async () => {
    const slug = "feat-login";
    const snippet = join(importDir, `${slug}.caddy`);
    expect((await dev(`/preview/${slug}/`, devAuth)).status).toBe(404);

    writeFileSync(snippet, renderPreviewRoute({ slug, upstream: up.preview.address }));
    await caddy!.reload(caddyfile);
    const res = await dev(`/preview/${slug}/hello`, devAuth);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ name: "preview", path: "/hello" });
    expect(res.headers["x-robots-tag"]).toBe("noindex, nofollow");
    expect((await dev(`/preview/${slug}/`)).status).toBe(401);
    const bare = await dev(`/preview/${slug}`, devAuth);
    expect(bare.status).toBe(308);
    expect(bare.headers.location).toBe(`/preview/${slug}/`);
    expect((await dev("/preview/other/", devAuth)).status).toBe(404);

    unlinkSync(snippet);
    await caddy!.reload(caddyfile);
    const before = up.preview.requests.length;
    expect((await dev(`/preview/${slug}/hello`, devAuth)).status).toBe(404);
    expect(up.preview.requests.length).toBe(before);
  });

  test("a request with the prod Host never reaches a dev upstream", async () => {
    writeFileSync(join(importDir, "p.caddy"), renderPreviewRoute({ slug: "p", upstream: up.preview.address }));
    await caddy!.reload(caddyfile);
    try {
      const before = requestCount(devUpstreams());
      for (const path of ["/", "/gitea/x", "/preview/p/", "/ws"]) {
        const res = await prod(path);
        expect(res.status).toBe(200);
        expect(JSON.parse(res.body).name).toMatch(/^prod/);
      }
      // Even with dev credentials and a Host carrying the port.
      const withPort = await request({ port, host: `${PROD_DOMAIN}:${port}`, path: "/gitea/x", auth: devAuth });
      expect(JSON.parse(withPort.body)).toMatchObject({ name: "prodApp", path: "/gitea/x" });
      // An unknown Host matches no site at all.
      const unknown = await request({ port, host: "evil.example.com", path: "/" });
      expect(unknown.body).not.toMatch(/"name"/);
      expect(requestCount(devUpstreams())).toBe(before);
    } finally {
      unlinkSync(join(importDir, "p.caddy"));
    }
  });
});

// The cutover of a release (components/render/caddyfile.ts UPSTREAM_TRY_DURATION): an upstream that
// resets a connection after reading the request, as an old app version does when it closes its
// listener with connections still queued. Mutation tried (by hand, then reverted): without the
// `lb_try_duration` line the GET below gets a 502 after one attempt.
describe("a real Caddy retries an upstream that fails during a cutover", () => {
  let caddy: RunningCaddy | undefined;
  let port: number;
  let upstreamPort: number;
  let server: import("net").Server | undefined;
  /** Request lines the upstream read; the next `resetNext` requests are reset instead of answered. */
  const seen: string[] = [];
  let resetNext = 0;

  const listen = () =>
    new Promise<void>((resolve) => {
      server = require("net").createServer((sock: import("net").Socket) => {
        let head = "";
        sock.on("error", () => undefined);
        sock.on("data", (d: Buffer) => {
          head += d.toString("latin1");
          if (!head.includes("\r\n\r\n")) return;
          seen.push(head.split("\r\n")[0]);
          if (resetNext > 0) {
            resetNext--;
            sock.resetAndDestroy();
          } else sock.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        });
      });
      server!.listen(upstreamPort, "127.0.0.1", () => resolve());
    });

  beforeAll(async () => {
    port = await freePort();
    upstreamPort = await freePort();
    await listen();
    const site: ProxySite = { domains: [PROD_DOMAIN], tls: { mode: "acme" }, routes: [{ path: "/", upstream: `127.0.0.1:${upstreamPort}` }] };
    caddy = await startCaddy(renderCaddyfile(loopbackSites([site], () => port)));
  });

  afterAll(async () => {
    await caddy?.stop();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
  });

  const send = (method: string) => request({ port, host: PROD_DOMAIN, path: "/x", method, body: method === "POST" ? "" : undefined });

  test("a GET whose connection is reset after it was sent is sent again and answers 200", async () => {
    seen.length = 0;
    resetNext = 1;
    const res = await send("GET");
    expect(res.status).toBe(200);
    expect(seen).toEqual(["GET /x HTTP/1.1", "GET /x HTTP/1.1"]);
  });

  test("a POST whose connection is reset after it was sent is not sent twice (502)", async () => {
    seen.length = 0;
    resetNext = 1;
    const res = await send("POST");
    expect(res.status).toBe(502);
    expect(seen).toEqual(["POST /x HTTP/1.1"]);
  });

  test("while nothing listens (a restart), any request waits and is answered once the upstream is back", async () => {
    await new Promise((r) => server!.close(r));
    seen.length = 0;
    resetNext = 0;
    const pending = Promise.all([send("GET"), send("POST")]);
    await new Promise((r) => setTimeout(r, 1500));
    await listen();
    const [get, post] = await pending;
    expect([get.status, post.status]).toEqual([200, 200]);
    expect(seen.sort()).toEqual(["GET /x HTTP/1.1", "POST /x HTTP/1.1"]);
  });
});
