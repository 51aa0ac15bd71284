import { CaddyfileError, ProxySite, renderCaddyfile, renderPreviewRoute } from "../components/render/caddyfile";

// A syntactically valid bcrypt hash (of nothing in particular); the renderer never checks passwords.
const HASH = "$2a$10$abcdefghijklmnopqrstuuJ1y0bOQd0K0cE5lqz8lH.Xh6XQ1yS2e";

const prodSite = (): ProxySite => ({
  domains: ["app.example.com"],
  tls: { mode: "acme" },
  routes: [
    { path: "/", upstream: "app-prod-web:3000" },
    { path: "/gitea/", upstream: "gitea-prod:3000", stripPrefix: true },
    { path: "/ws", upstream: "app-prod-web:3001", websocket: true },
  ],
});

const devSite = (): ProxySite => ({
  domains: ["dev.example.com"],
  tls: { mode: "internal" },
  basicAuth: [{ user: "dev", bcryptHash: HASH }],
  headers: { "X-Robots-Tag": "noindex, nofollow" },
  importDir: "/etc/caddy/previews",
  routes: [
    { path: "/", upstream: "app-dev-web:3000" },
    { path: "/gitea", upstream: "gitea-dev:3000", stripPrefix: true },
  ],
});

/** The lines of the site block whose address line starts with `address`. */
function siteBlock(caddyfile: string, address: string): string {
  const start = caddyfile.indexOf(`${address}`);
  expect(start).toBeGreaterThanOrEqual(0);
  const end = caddyfile.indexOf("\n}\n", start);
  return caddyfile.slice(start, end + 3);
}

function expectRejected(fn: () => unknown, mention: string | RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(CaddyfileError);
  expect((error as Error).message).toMatch(mention);
}

describe("renderCaddyfile", () => {
  test("renders a prod and a dev site exactly", () => {
    expect(renderCaddyfile([prodSite(), devSite()], { email: "ops@example.com" })).toBe(
      [
        "{",
        "\temail ops@example.com",
        "}",
        "",
        "app.example.com {",
        "\t@route0 path /gitea /gitea/*",
        "\thandle @route0 {",
        "\t\turi strip_prefix /gitea",
        "\t\treverse_proxy gitea-prod:3000 {",
        "\t\t\tlb_try_duration 5s",
        "\t\t}",
        "\t}",
        "\t@route1 path /ws /ws/*",
        "\thandle @route1 {",
        "\t\treverse_proxy app-prod-web:3001 {",
        "\t\t\tflush_interval -1",
        "\t\t\tlb_try_duration 5s",
        "\t\t}",
        "\t}",
        "\thandle {",
        "\t\treverse_proxy app-prod-web:3000 {",
        "\t\t\tlb_try_duration 5s",
        "\t\t}",
        "\t}",
        "}",
        "",
        "dev.example.com {",
        "\ttls internal",
        "\theader {",
        '\t\tX-Robots-Tag "noindex, nofollow"',
        "\t}",
        "\theader {",
        '\t\tX-Robots-Tag "noindex, nofollow"',
        "\t\tdefer",
        "\t}",
        "\tbasicauth {",
        `\t\tdev ${HASH}`,
        "\t}",
        "\timport /etc/caddy/previews/*.caddy",
        "\thandle /preview/* {",
        '\t\trespond "Not Found" 404',
        "\t}",
        "\t@route0 path /gitea /gitea/*",
        "\thandle @route0 {",
        "\t\turi strip_prefix /gitea",
        "\t\treverse_proxy gitea-dev:3000 {",
        "\t\t\tlb_try_duration 5s",
        "\t\t}",
        "\t}",
        "\thandle {",
        "\t\treverse_proxy app-dev-web:3000 {",
        "\t\t\tlb_try_duration 5s",
        "\t\t}",
        "\t}",
        "}",
        "",
      ].join("\n"),
    );
  });

  test("is deterministic: input order of sites, domains, headers and users does not matter", () => {
    const a: ProxySite = {
      ...devSite(),
      domains: ["b.example.com", "a.example.com"],
      headers: { "X-Robots-Tag": "noindex", "Cache-Control": "no-store" },
      basicAuth: [
        { user: "zed", bcryptHash: HASH },
        { user: "amy", bcryptHash: HASH },
      ],
    };
    const b: ProxySite = {
      ...a,
      domains: ["a.example.com", "b.example.com"],
      headers: { "Cache-Control": "no-store", "X-Robots-Tag": "noindex" },
      basicAuth: [...a.basicAuth!].reverse(),
      routes: [...a.routes].reverse(),
    };
    expect(renderCaddyfile([prodSite(), a])).toBe(renderCaddyfile([b, prodSite()]));
    expect(renderCaddyfile([a])).toContain("a.example.com, b.example.com {");
    const block = renderCaddyfile([a]);
    expect(block.indexOf("amy")).toBeLessThan(block.indexOf("zed"));
    expect(block.indexOf("Cache-Control")).toBeLessThan(block.indexOf("X-Robots-Tag"));
  });

  test("orders specific routes longest first and the catch-all last", () => {
    const text = renderCaddyfile([
      {
        domains: ["app.example.com"],
        tls: { mode: "acme" },
        routes: [
          { path: "/", upstream: "web:80" },
          { path: "/api", upstream: "api:80" },
          { path: "/api/v2/", upstream: "api2:80", stripPrefix: true },
          { path: "/b", upstream: "b:80" },
          { path: "/a", upstream: "a:80" },
        ],
      },
    ]);
    const matchers = [...text.matchAll(/@route\d+ path (\S+)/g)].map((m) => m[1]);
    expect(matchers).toEqual(["/api/v2", "/api", "/a", "/b"]);
    expect(text.lastIndexOf("\thandle {")).toBeGreaterThan(text.lastIndexOf("@route"));
    // Exactly one handle per route plus the catch-all: a request matches one route only.
    expect(text.match(/^\thandle /gm)).toHaveLength(5);
    expect(text).toContain("uri strip_prefix /api/v2\n");
    expect(text).not.toContain("uri strip_prefix /api\n");
  });

  test("a site without a catch-all answers 404 instead of Caddy's empty 200", () => {
    const text = renderCaddyfile([{ domains: ["git.example.com"], tls: { mode: "acme" }, routes: [{ path: "/gitea", upstream: "g:3000" }] }]);
    expect(text).toContain('\thandle {\n\t\trespond "Not Found" 404\n\t}\n}');
  });

  test("IPv6 upstreams, schemes and hostnames with underscores", () => {
    const text = renderCaddyfile([
      {
        domains: ["app.example.com"],
        tls: { mode: "acme" },
        routes: [
          { path: "/", upstream: "[::1]:8080" },
          { path: "/a", upstream: "[fd00::5]:3000" },
          { path: "/b", upstream: "HTTP://[fd00::5]:3000" },
          { path: "/c", upstream: "https://backend.internal" },
          { path: "/d", upstream: "app_dev_web:3000" },
          { path: "/e", upstream: "10.0.0.7:9000" },
        ],
      },
    ]);
    expect(text).toContain("reverse_proxy [::1]:8080 {\n");
    expect(text).toContain("reverse_proxy [fd00::5]:3000 {\n");
    expect(text).toContain("reverse_proxy http://[fd00::5]:3000 {\n");
    expect(text).toContain("reverse_proxy https://backend.internal {\n");
    expect(text).toContain("reverse_proxy app_dev_web:3000 {\n");
    expect(text).toContain("reverse_proxy 10.0.0.7:9000 {\n");
  });

  test("many domains, wildcards and localhost share one site block", () => {
    const domains = Array.from({ length: 40 }, (_, i) => `tenant${i}.example.com`);
    const text = renderCaddyfile([{ domains: [...domains, "*.example.com", "localhost", "*.localhost"], tls: { mode: "internal" }, routes: [{ path: "/", upstream: "web:80" }] }]);
    const address = text.split("\n")[0];
    expect(address.endsWith(" {")).toBe(true);
    expect(address.split(", ")).toHaveLength(43);
    expect(address).toContain("*.example.com");
    expect(address).toContain("*.localhost");
    expect(address).toContain("tenant39.example.com");
  });

  test("domains are lower-cased", () => {
    expect(renderCaddyfile([{ domains: ["App.Example.COM"], tls: { mode: "acme" }, routes: [{ path: "/", upstream: "w:1" }] }])).toMatch(/^app\.example\.com \{/);
  });

  test("TLS per mode", () => {
    const route = [{ path: "/", upstream: "w:80" }];
    const text = renderCaddyfile([
      { domains: ["acme.example.com"], tls: { mode: "acme" }, routes: route },
      { domains: ["mail.example.com"], tls: { mode: "acme", email: "le@example.com" }, routes: route },
      { domains: ["int.example.com"], tls: { mode: "internal" }, routes: route },
      { domains: ["cert.example.com"], tls: { mode: "certificate", certFile: "/etc/caddy/tls/c.pem", keyFile: "/etc/caddy/tls/k.pem" }, routes: route },
      { domains: ["vault.example.com"], tls: { mode: "off" }, routes: route },
      { domains: ["mqtt.example.com"], tls: { mode: "off" }, routes: route, port: 8080 },
      { domains: ["alt.example.com"], tls: { mode: "internal" }, routes: route, port: 8443 },
    ]);
    expect(siteBlock(text, "acme.example.com {")).not.toContain("tls");
    expect(siteBlock(text, "mail.example.com {")).toContain("\ttls le@example.com\n");
    expect(siteBlock(text, "int.example.com {")).toContain("\ttls internal\n");
    expect(siteBlock(text, "cert.example.com {")).toContain("\ttls /etc/caddy/tls/c.pem /etc/caddy/tls/k.pem\n");
    expect(siteBlock(text, "http://vault.example.com {")).not.toContain("tls");
    expect(text).toContain("http://mqtt.example.com:8080 {");
    expect(siteBlock(text, "alt.example.com:8443 {")).toContain("\ttls internal\n");
  });

  test("global options", () => {
    const text = renderCaddyfile([], {
      email: "ops@example.com",
      adminListen: "127.0.0.1:2019",
      httpPort: 8080,
      httpsPort: 8443,
      autoHttps: "off",
    });
    expect(text).toBe("{\n\tadmin 127.0.0.1:2019\n\temail ops@example.com\n\thttp_port 8080\n\thttps_port 8443\n\tauto_https off\n}\n");
    expect(renderCaddyfile([], {})).toBe("");
    expect(renderCaddyfile([], { adminListen: "off" })).toContain("\tadmin off\n");
  });

  test("basic_auth spelling for Caddy >= 2.8 on request", () => {
    const text = renderCaddyfile([devSite()], { basicAuthDirective: "basic_auth" });
    expect(text).toContain("\tbasic_auth {\n");
    expect(text).not.toContain("basicauth");
  });

  test("non-prod site: basic auth and X-Robots-Tag sit at site level, so they cover every route and the import", () => {
    const block = siteBlock(renderCaddyfile([devSite()]), "dev.example.com {");
    const auth = block.indexOf("\tbasicauth {");
    const robots = block.indexOf('X-Robots-Tag "noindex, nofollow"');
    const firstHandle = block.indexOf("\thandle");
    const imported = block.indexOf("\timport /etc/caddy/previews/*.caddy");
    expect(auth).toBeGreaterThan(0);
    expect(robots).toBeGreaterThan(0);
    expect(imported).toBeGreaterThan(auth);
    expect(firstHandle).toBeGreaterThan(auth);
    // top-level (one tab), not inside a handle
    expect(block).toMatch(/^\tbasicauth \{$/m);
    expect(block).toMatch(/^\theader \{$/m);
    // once immediately (error responses such as the 401) and once deferred (overrides the upstream's value)
    expect(block.match(/^\theader \{\n\t\tX-Robots-Tag "noindex, nofollow"\n(\t\tdefer\n)?\t\}$/gm)).toHaveLength(2);
  });

  test("prod site: neither basic auth nor robots header", () => {
    const block = siteBlock(renderCaddyfile([prodSite(), devSite()]), "app.example.com {");
    expect(block).not.toMatch(/basic_?auth/);
    expect(block).not.toContain("X-Robots-Tag");
    expect(block).not.toContain("import");
  });

  test("header values with quotes are escaped", () => {
    const text = renderCaddyfile([
      { domains: ["a.example.com"], tls: { mode: "acme" }, headers: { "Content-Security-Policy": `default-src 'self'; x "y"` }, routes: [{ path: "/", upstream: "w:1" }] },
    ]);
    expect(text).toContain(`\t\tContent-Security-Policy "default-src 'self'; x \\"y\\""\n`);
  });

  describe("rejects injection and invalid values, naming the bad value", () => {
    const site = (patch: Partial<ProxySite>): ProxySite => ({ ...devSite(), ...patch });
    const route = (patch: Record<string, unknown>) => [{ path: "/", upstream: "w:80", ...patch }] as ProxySite["routes"];

    test.each([
      ["a.com {\n}", /invalid domain "a\.com \{\\n\}"/],
      ["a.com, b.com", /invalid domain "a\.com, b\.com"/],
      ["http://a.com", /invalid domain/],
      ["a.com:8080", /invalid domain/],
      ["*", /invalid domain "\*"/],
      ["a.*.com", /invalid domain/],
      ["-a.com", /invalid domain/],
      ["a..com", /invalid domain/],
      ["{$HOME}.com", /invalid domain/],
      ["a.com # c", /invalid domain/],
      ["", /invalid domain ""/],
    ])("domain %j", (domain, message) => {
      expectRejected(() => renderCaddyfile([site({ domains: [domain] })]), message);
    });

    test.each([
      ["/a}", /invalid path "\/a\}"/],
      ["/a\nrespond 200", /invalid path "\/a\\nrespond 200"/],
      ["/a b", /invalid path/],
      ["a", /invalid path "a"/],
      ["", /invalid path ""/],
      ["/a{", /invalid path/],
      ['/a"', /invalid path/],
      ["/a*", /invalid path/],
      ["/a#b", /invalid path/],
      ["/a//b", /invalid path/],
      ["/a/../b", /invalid path/],
      ["//", /invalid path/],
    ])("path %j", (path, message) => {
      expectRejected(() => renderCaddyfile([site({ routes: route({ path }) })]), message);
    });

    test.each([
      ["w", /invalid upstream "w" \(a port is required/],
      ["::1:8080", /IPv6 addresses must be bracketed/],
      ["[::1", /unterminated IPv6 bracket/],
      ["[nope]:80", /is not an IPv6 address/],
      ["[::1]8080", /expected ":port"/],
      ["w:0", /is not a port number/],
      ["w:70000", /is not a port number/],
      ["w:80 {\n}", /invalid upstream/],
      ["w:80\nrespond 200", /invalid upstream/],
      ["http://w:80/path", /invalid upstream/],
      ["ftp://w:21", /invalid upstream/],
      ["{http.request.host}:80", /invalid upstream/],
      ["unix//run/app.sock", /invalid upstream/],
    ])("upstream %j", (upstream, message) => {
      expectRejected(() => renderCaddyfile([site({ routes: route({ upstream }) })]), message);
    });

    test.each([
      [{ "X-A": "a\nrespond 200" }, /invalid value "a\\nrespond 200" for header "X-A"/],
      [{ "X-A": "a\r" }, /invalid value/],
      [{ "X-A": "{$SECRET}" }, /invalid value "\{\$SECRET\}"/],
      [{ "X-A": "a\\" }, /invalid value/],
      [{ "X A": "a" }, /invalid header name "X A"/],
      [{ "-Server": "" }, /invalid header name "-Server"/],
      [{ "X-A\n}": "a" }, /invalid header name/],
      [{ "X-A": "1", "x-a": "2" }, /header "x-a" is set twice|header "X-A" is set twice/],
    ])("headers %j", (headers, message) => {
      expectRejected(() => renderCaddyfile([site({ headers: headers as Record<string, string> })]), message);
    });

    test.each([
      [[{ user: "a b", bcryptHash: HASH }], /invalid basic auth user "a b"/],
      [[{ user: "a\n}", bcryptHash: HASH }], /invalid basic auth user/],
      [[{ user: "", bcryptHash: HASH }], /invalid basic auth user ""/],
      [[{ user: "dev", bcryptHash: "hunter2" }], /user "dev" needs a bcrypt hash/],
      [[{ user: "dev", bcryptHash: "$1$abc$def" }], /needs a bcrypt hash/],
      [[{ user: "dev", bcryptHash: `${HASH}\n}` }], /needs a bcrypt hash/],
      [
        [
          { user: "dev", bcryptHash: HASH },
          { user: "dev", bcryptHash: HASH },
        ],
        /user "dev" is listed twice/,
      ],
      [[], /at least one user/],
    ])("basic auth %j", (basicAuth, message) => {
      expectRejected(() => renderCaddyfile([site({ basicAuth })]), message);
    });

    test("the bad bcrypt hash itself is not echoed", () => {
      expectRejected(() => renderCaddyfile([site({ basicAuth: [{ user: "dev", bcryptHash: "plain-secret" }] })]), /^(?!.*plain-secret)/s);
    });

    test.each([
      ["etc/caddy/previews", /importDir "etc\/caddy\/previews" must be an absolute path/],
      ["/etc/caddy/previews/*", /importDir/],
      ["/etc/caddy/previews }", /importDir/],
      ["/etc/../root", /importDir/],
      ["/etc/caddy\n}", /importDir/],
    ])("importDir %j", (importDir, message) => {
      expectRejected(() => renderCaddyfile([site({ importDir })]), message);
    });

    test("certificate paths", () => {
      expectRejected(() => renderCaddyfile([site({ tls: { mode: "certificate", certFile: "/c.pem {", keyFile: "/k.pem" } })]), /certFile "\/c\.pem \{"/);
      expectRejected(() => renderCaddyfile([site({ tls: { mode: "certificate", certFile: "/c.pem", keyFile: "k.pem" } })]), /keyFile "k\.pem"/);
    });

    test("emails, ports, tls mode, global options", () => {
      expectRejected(() => renderCaddyfile([site({ tls: { mode: "acme", email: "a@b.com\n}" } })]), /acme email/);
      expectRejected(() => renderCaddyfile([], { email: "not-an-email" }), /global email "not-an-email"/);
      expectRejected(() => renderCaddyfile([site({ port: 0 })]), /port 0 is not a port number/);
      expectRejected(() => renderCaddyfile([site({ port: 80.5 })]), /port 80\.5/);
      expectRejected(() => renderCaddyfile([site({ tls: { mode: "letsencrypt" } as never })]), /unknown tls mode "letsencrypt"/);
      expectRejected(() => renderCaddyfile([], { adminListen: "0.0.0.0:2019\n}" }), /adminListen/);
      expectRejected(() => renderCaddyfile([], { httpPort: 65536 }), /httpPort 65536/);
    });

    test("duplicate domains across sites and within a site", () => {
      expectRejected(
        () => renderCaddyfile([prodSite(), { ...devSite(), domains: ["dev.example.com", "APP.example.com"] }]),
        /duplicate domain "app\.example\.com" in site #0 and site #1/,
      );
      expectRejected(() => renderCaddyfile([site({ domains: ["a.com", "A.com"] })]), /domain "a\.com" is listed twice/);
      // Same name on another explicit port is another listener, not a duplicate.
      expect(() => renderCaddyfile([site({ domains: ["a.com"] }), { ...prodSite(), domains: ["a.com"], port: 8443 }])).not.toThrow();
    });

    test("a site with no routes, duplicate paths, routes clashing with previews", () => {
      expectRejected(() => renderCaddyfile([site({ routes: [] })]), /site "dev\.example\.com" has no routes/);
      expectRejected(() => renderCaddyfile([site({ domains: [] })]), /site #0 has no domains/);
      expectRejected(
        () =>
          renderCaddyfile([
            site({
              routes: [
                { path: "/a", upstream: "w:1" },
                { path: "/a/", upstream: "w:2" },
              ],
            }),
          ]),
        /path "\/a" is routed twice/,
      );
      expectRejected(() => renderCaddyfile([site({ routes: [{ path: "/preview/x", upstream: "w:1" }] })]), /route "\/preview\/x" overlaps the preview routes/);
      // Without an import dir, /preview is an ordinary path.
      expect(() => renderCaddyfile([{ ...prodSite(), routes: [{ path: "/preview", upstream: "w:1" }] }])).not.toThrow();
    });
  });
});

describe("renderPreviewRoute", () => {
  test("routes /preview/<slug>/ with the prefix stripped, and redirects the bare path", () => {
    expect(renderPreviewRoute({ slug: "feat-login", upstream: "app-preview-feat-login:3000" })).toBe(
      [
        "# preview feat-login",
        "handle /preview/feat-login {",
        "\tredir * /preview/feat-login/ 308",
        "}",
        "handle_path /preview/feat-login/* {",
        "\treverse_proxy app-preview-feat-login:3000 {",
        // The same upstream retry as the site routes: a preview's replaced app answers, not 502.
        "\t\tlb_try_duration 5s",
        "\t}",
        "}",
        "",
      ].join("\n"),
    );
  });

  test("carries no auth or headers of its own: the dev site's apply to it", () => {
    const snippet = renderPreviewRoute({ slug: "x", upstream: "[fd00::5]:3000" });
    expect(snippet).not.toMatch(/basic_?auth|header|tls/);
    expect(snippet).toContain("reverse_proxy [fd00::5]:3000");
  });

  test.each([
    ["Feat", /invalid preview slug "Feat"/],
    ["a/b", /invalid preview slug/],
    ["a}\nrespond 200", /invalid preview slug/],
    ["-a", /invalid preview slug/],
    ["a".repeat(64), /invalid preview slug/],
    ["", /invalid preview slug ""/],
  ])("rejects slug %j", (slug, message) => {
    expectRejected(() => renderPreviewRoute({ slug, upstream: "w:1" }), message);
  });

  test("rejects a bad upstream", () => {
    expectRejected(() => renderPreviewRoute({ slug: "x", upstream: "w:1 {\n}" }), /preview "x": invalid upstream/);
  });
});
