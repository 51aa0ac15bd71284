import { isRedirectOnly, parseCaddyfile, plainHttpAddresses, requiresAuthEverywhere, sendsNoindexEverywhere } from "../../policy/lib/caddyfile";
import { renderCaddyfile } from "../../components/render/caddyfile";
import { cleanupProjects, container, devProdProject, of, resource, run } from "./helpers";

afterAll(cleanupProjects);

const HASH = "$2b$04$" + "a".repeat(53);
const caddy = (stack: string, content: string) =>
  container(stack, `gigi-${stack}-caddy`, { role: "proxy", name: `gigi-${stack}-caddy`, uploads: [{ file: "/etc/caddy/Caddyfile", content }] });

const PRIVATE_DEV = renderCaddyfile(
  [
    {
      domains: ["dev.gigi.casa"],
      routes: [
        { path: "/gitea/", upstream: "gitea:3000", stripPrefix: true },
        { path: "/", upstream: "app:3000" },
      ],
      basicAuth: [{ user: "dev", bcryptHash: HASH }],
      headers: { "X-Robots-Tag": "noindex, nofollow" },
      tls: { mode: "internal" },
      importDir: "/etc/caddy/previews",
    },
  ],
  { email: "ops@gigi.casa" },
);

describe("Caddyfile reader", () => {
  it("splits sites from the global block and snippets, and expands snippet imports", () => {
    const file = parseCaddyfile(`{
  email ops@x.com
}
(private) {
  basic_auth {
    dev ${HASH}
  }
  header X-Robots-Tag "noindex"
}
# a comment { with a brace
a.x.com, b.x.com {
  import private
  reverse_proxy app:80 # trailing comment
}
http://vault.x.com {
  file_server
}
`);
    expect(file.global?.map((d) => d.tokens)).toEqual([["email", "ops@x.com"]]);
    expect(file.sites.map((s) => s.addresses)).toEqual([["a.x.com", "b.x.com"], ["http://vault.x.com"]]);
    expect(requiresAuthEverywhere(file.sites[0])).toBe(true);
    expect(sendsNoindexEverywhere(file.sites[0])).toBe(true);
    expect(requiresAuthEverywhere(file.sites[1])).toBe(false);
    expect(plainHttpAddresses(file, file.sites[1]).map((a) => a.host)).toEqual(["vault.x.com"]);
    expect(plainHttpAddresses(file, file.sites[0])).toEqual([]);
  });

  it("reads the program's rendered Caddyfile as private", () => {
    const [site] = parseCaddyfile(PRIVATE_DEV).sites;
    expect(requiresAuthEverywhere(site)).toBe(true);
    expect(sendsNoindexEverywhere(site)).toBe(true);
  });

  it("auth on some routes only, or behind a matcher, is not every route", () => {
    const partial = parseCaddyfile(`x.com {
  handle /a/* {
    basic_auth {
      u ${HASH}
    }
    reverse_proxy a:1
  }
  handle {
    reverse_proxy b:1
  }
}
y.com {
  basic_auth /admin/* {
    u ${HASH}
  }
  reverse_proxy b:1
}
z.com {
  handle /a/* {
    basic_auth {
      u ${HASH}
    }
  }
  handle {
    basic_auth {
      u ${HASH}
    }
    reverse_proxy b:1
  }
}
http://w.com {
  redir https://w.com{uri}
}
`);
    expect(partial.sites.map(requiresAuthEverywhere)).toEqual([false, false, true, false]);
    expect(isRedirectOnly(partial.sites[3])).toBe(true);
  });

  it("rejects unbalanced braces", () => {
    expect(() => parseCaddyfile("x.com {\n  reverse_proxy a:1\n")).toThrow(/unclosed block/);
  });
});

describe("nonprod-sites-private (rule 3)", () => {
  const POLICY = "nonprod-sites-private";

  it("passes a dev site with basic auth and noindex", () => {
    const dir = devProdProject();
    expect(of(run([caddy("dev", PRIVATE_DEV)], { stack: "dev", dir }), POLICY)).toEqual([]);
  });

  it("flags a dev site without basic auth or noindex, naming the site", () => {
    const dir = devProdProject();
    const open = renderCaddyfile([{ domains: ["dev.gigi.casa"], routes: [{ path: "/", upstream: "app:3000" }], tls: { mode: "internal" } }]);
    const messages = of(run([caddy("dev", open)], { stack: "dev", dir }), POLICY).map((v) => v.message);
    expect(messages).toEqual([
      "dev site dev.gigi.casa serves routes without basic auth: put basic_auth at the site level (twinstack:proxy.basicAuth lists the users) so every route asks for a password",
      'dev site dev.gigi.casa does not send X-Robots-Tag: noindex on every route: add header X-Robots-Tag "noindex, nofollow" at the site level',
    ]);
  });

  it("leaves prod sites public, and reads swarm service configs too", () => {
    const dir = devProdProject();
    const open = renderCaddyfile([{ domains: ["gigi.casa"], routes: [{ path: "/", upstream: "app:3000" }], tls: { mode: "acme" } }]);
    expect(of(run([caddy("prod", open)], { stack: "prod", dir }), POLICY)).toEqual([]);
    const config = resource("dev", "docker:index/serviceConfig:ServiceConfig", "cfg", {
      name: "gigi-dev-caddy-0123456789",
      data: Buffer.from(open.replace("gigi.casa", "dev.gigi.casa")).toString("base64"),
    });
    expect(of(run([config], { stack: "dev", dir }), POLICY)).toHaveLength(2);
  });
});

describe("sites-use-tls (rule 11, advisory)", () => {
  const POLICY = "sites-use-tls";
  const vault = renderCaddyfile([{ domains: ["vault.gigi.casa"], routes: [{ path: "/", upstream: "vault:8080" }], tls: { mode: "off" } }]);

  it("passes TLS sites", () => {
    const dir = devProdProject();
    expect(
      of(run([caddy("prod", renderCaddyfile([{ domains: ["gigi.casa"], routes: [{ path: "/", upstream: "app:1" }], tls: { mode: "acme" } }]))], { stack: "prod", dir }), POLICY),
    ).toEqual([]);
  });

  it("warns about a plain-HTTP site unless the policy config allows it", () => {
    const dir = devProdProject();
    const warned = of(run([caddy("prod", vault)], { stack: "prod", dir }), POLICY);
    expect(warned).toEqual([
      expect.objectContaining({
        enforcementLevel: "advisory",
        message:
          'site http://vault.gigi.casa is served over plain HTTP: serve it over TLS, or allow it in the policy config (sites-use-tls.allowedPlainHttpSites: ["vault.gigi.casa"])',
      }),
    ]);
    const allowed = run([caddy("prod", vault)], { stack: "prod", dir, policyConfig: { "sites-use-tls": { allowedPlainHttpSites: ["*.gigi.casa"] } } });
    expect(of(allowed, POLICY)).toEqual([]);
  });
});
