// Issue 14, kind 6, with real Caddy: a proxy header named `defer` would turn the renderer's
// immediate header block into a deferred one, and basic auth's 401 would lose X-Robots-Tag.
// The name is refused by config validation and by the renderer; header names next to the
// keywords (Defer-Policy, Matcher) stay ordinary headers on the 401.
import bcrypt from "bcryptjs";
import { CaddyfileError, ProxySite, renderCaddyfile } from "../../components/render/caddyfile";
import { ConfigError, parseStackConfig } from "../../stacks/config";
import { freePort, request, requireCaddy, startCaddy, startUpstream } from "./caddy";

const HASH = bcrypt.hashSync("pw", 10);

function devSite(port: number, upstream: string, headers: Record<string, string>): ProxySite {
  return {
    domains: ["dev.example.com"],
    tls: { mode: "off" },
    port,
    basicAuth: [{ user: "dev", bcryptHash: HASH }],
    headers: { ...headers, "X-Robots-Tag": "noindex, nofollow" },
    routes: [{ path: "/", upstream }],
  };
}

test("caddy is installed", () => {
  expect(requireCaddy()).toBeTruthy();
});

test("the premise, with real Caddy: a `defer` line inside the immediate header block strips the 401 of its headers", async () => {
  const upstream = await startUpstream("app");
  const port = await freePort();
  // What the renderer produced before the check, for headers { defer: "1" }.
  const rendered = renderCaddyfile([devSite(port, `127.0.0.1:${upstream.port}`, {})], { basicAuthDirective: "basicauth" });
  const smuggled = rendered.replace('\theader {\n\t\tX-Robots-Tag "noindex, nofollow"\n\t}', '\theader {\n\t\tdefer "1"\n\t\tX-Robots-Tag "noindex, nofollow"\n\t}');
  expect(smuggled).not.toBe(rendered);
  const caddy = await startCaddy(smuggled);
  try {
    const res = await request({ port, path: "/", host: "dev.example.com" });
    expect(res.status).toBe(401);
    expect(res.headers["x-robots-tag"]).toBeUndefined();
  } finally {
    await caddy.stop();
    await upstream.stop();
  }
});

test("the renderer and config validation refuse the keywords; neighbouring names stay headers on the 401", async () => {
  expect(() => renderCaddyfile([devSite(8080, "app:3000", { defer: "1" })])).toThrow(CaddyfileError);
  expect(() => renderCaddyfile([devSite(8080, "app:3000", { Match: "1" })])).toThrow(/keyword of Caddy's header block/);
  expect(() => parseStackConfig({ env: "dev", app: { name: "g", image: "g:1" }, proxy: { headers: { defer: "1" } } }, { stack: "dev", sourceFile: "Pulumi.dev.yaml" })).toThrow(
    ConfigError,
  );

  const upstream = await startUpstream("app");
  const port = await freePort();
  const caddy = await startCaddy(renderCaddyfile([devSite(port, `127.0.0.1:${upstream.port}`, { "Defer-Policy": "none", Matcher: "m" })], { basicAuthDirective: "basicauth" }));
  try {
    const res = await request({ port, path: "/", host: "dev.example.com" });
    expect(res.status).toBe(401);
    expect(res.headers["x-robots-tag"]).toBe("noindex, nofollow");
    expect(res.headers["defer-policy"]).toBe("none");
    expect(res.headers["matcher"]).toBe("m");
  } finally {
    await caddy.stop();
    await upstream.stop();
  }
});
