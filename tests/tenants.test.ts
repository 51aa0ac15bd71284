// Tenants onboarded by config: TenantDns (one component per tenant, an A record per domain on
// DigitalOcean or Hetzner DNS) and the stack step that derives it from `tenants` + `dns`.
import { TenantDns, TenantDnsArgs, tenantRecords } from "../components/tenantDns";
import { runStack } from "../stacks";
import { TENANT_BATCH, tenantZones } from "../stacks/tenants";
import { PlanResult, PlannedResource, byType, one, planProgram } from "./harness";

const DO_RECORD = "digitalocean:index/dnsRecord:DnsRecord";
const DO_DOMAIN = "digitalocean:index/domain:Domain";
const HC_RRSET = "hcloud:index/zoneRrset:ZoneRrset";
const HC_ZONE = "hcloud:index/zone:Zone";

function dnsArgs(overrides: Partial<TenantDnsArgs> = {}): TenantDnsArgs {
  return {
    namePrefix: "cocotte-prod",
    env: "prod",
    tenant: "demimonde",
    provider: "digitalocean",
    zones: ["cocotte.maison", "sansonnet.maison"],
    domains: ["ai.cocotte.maison", "data.cocotte.maison", "ai.sansonnet.maison"],
    target: "203.0.113.7",
    ttl: 300,
    manageZones: false,
    ...overrides,
  };
}

async function planDns(args: TenantDnsArgs) {
  return planProgram(
    () => {
      const dns = new TenantDns(`${args.namePrefix}-tenant-${args.tenant}`, args);
      return { domains: dns.domains };
    },
    { stack: args.env, config: {} },
  );
}

describe("tenantRecords", () => {
  it("splits each domain into its zone and relative name, the apex as @", () => {
    expect(tenantRecords(["cocotte.maison", "transquinnftw.com"], ["ai.cocotte.maison", "transquinnftw.com", "a.b.cocotte.maison"])).toEqual([
      { domain: "ai.cocotte.maison", zone: "cocotte.maison", name: "ai" },
      { domain: "transquinnftw.com", zone: "transquinnftw.com", name: "@" },
      { domain: "a.b.cocotte.maison", zone: "cocotte.maison", name: "a.b" },
    ]);
  });

  it("picks the longest zone and never matches a mere suffix", () => {
    expect(tenantRecords(["example.com", "shop.example.com"], ["ai.shop.example.com"])[0]).toMatchObject({ zone: "shop.example.com", name: "ai" });
    expect(() => tenantRecords(["maison"], ["cocottemaison"])).toThrow(/in none of the tenant's zones/);
  });

  it("derives a tenant's zones from its apex domains and its orgs", () => {
    expect(tenantZones({ name: "t", domains: ["a.com"], orgs: [{ org: "cocotte", tld: "maison" }], templates: ["ai.{org}.{tld}"], upstream: "app" })).toEqual([
      "a.com",
      "cocotte.maison",
    ]);
  });
});

describe("TenantDns", () => {
  it("declares one DigitalOcean A record per domain, named with the env token, under the tenant's component", async () => {
    const { resources, outputs } = await planDns(dnsArgs());
    const component = one(resources, "twinstack:index:TenantDns");
    const records = byType(resources, DO_RECORD);
    expect(records.map((r) => r.name)).toEqual([
      "cocotte-prod-tenant-demimonde-ai.cocotte.maison",
      "cocotte-prod-tenant-demimonde-data.cocotte.maison",
      "cocotte-prod-tenant-demimonde-ai.sansonnet.maison",
    ]);
    for (const r of records) {
      expect(r.parent).toBe(component.urn);
      expect(r.props).toMatchObject({ type: "A", value: "203.0.113.7", ttl: 300 });
    }
    expect(records.map((r) => [r.props.domain, r.props.name])).toEqual([
      ["cocotte.maison", "ai"],
      ["cocotte.maison", "data"],
      ["sansonnet.maison", "ai"],
    ]);
    expect(byType(resources, DO_DOMAIN)).toEqual([]);
    expect(outputs.domains).toEqual(["ai.cocotte.maison", "data.cocotte.maison", "ai.sansonnet.maison"]);
  });

  it("declares Hetzner RRsets (zone by name, labelled with env and tenant) on hcloud", async () => {
    const { resources } = await planDns(dnsArgs({ provider: "hcloud", namePrefix: "cocotte-dev", env: "dev", domains: ["ai.cocotte.maison"], ttl: 60 }));
    const rrset = one(resources, HC_RRSET);
    expect(rrset.name).toBe("cocotte-dev-tenant-demimonde-ai.cocotte.maison");
    expect(rrset.props).toMatchObject({ zone: "cocotte.maison", name: "ai", type: "A", ttl: 60, records: [{ value: "203.0.113.7" }], labels: { env: "dev", tenant: "demimonde" } });
    expect(byType(resources, DO_RECORD)).toEqual([]);
  });

  it("declares the zones too with manageZones (protected in prod, no provider-made apex record), records depending on them", async () => {
    const { resources } = await planDns(dnsArgs({ manageZones: true, protect: true }));
    const zones = byType(resources, DO_DOMAIN);
    expect(zones.map((z) => z.props)).toEqual([{ name: "cocotte.maison" }, { name: "sansonnet.maison" }]);
    for (const z of zones) expect(z.opts.protect).toBe(true);
    const record = byType(resources, DO_RECORD).find((r) => r.props.name === "ai" && r.props.domain === "sansonnet.maison")!;
    expect(record.opts.dependsOn).toEqual([zones[1].urn]);

    const hc = await planDns(dnsArgs({ provider: "hcloud", manageZones: true }));
    expect(byType(hc.resources, HC_ZONE).map((z) => z.props)).toEqual([
      { name: "cocotte.maison", mode: "primary", ttl: 300, labels: { env: "prod", tenant: "demimonde" } },
      { name: "sansonnet.maison", mode: "primary", ttl: 300, labels: { env: "prod", tenant: "demimonde" } },
    ]);
  });

  it("refuses names without the env token, bad domains and short TTLs", async () => {
    const attempt = (args: TenantDnsArgs) => planProgram(() => new TenantDns("x", args), { stack: "prod", config: {} });
    await expect(attempt(dnsArgs({ namePrefix: "cocotte" }))).rejects.toThrow(/env token "prod"/);
    await expect(attempt(dnsArgs({ domains: ["AI.cocotte.maison"] }))).rejects.toThrow(/lower-case domain/);
    await expect(attempt(dnsArgs({ ttl: 5 }))).rejects.toThrow(/ttl/);
    await expect(attempt(dnsArgs({ domains: ["ai.example.com"] }))).rejects.toThrow(/in none of the tenant's zones/);
  });
});

// ---- through the program ----

const baseConfig = (tenants: unknown[], dns: Record<string, unknown> = { provider: "hcloud", target: "198.51.100.9" }): Record<string, unknown> => ({
  env: "prod",
  domains: ["platform.example.com"],
  hosts: [{ name: "edge", docker: "ssh://deploy@203.0.113.20", address: "203.0.113.20" }],
  app: { name: "shop", image: "ghcr.io/example/shop:v1.0.0", version: "v1.0.0" },
  proxy: { tls: "acme", acmeEmail: "ops@example.com" },
  dns,
  tenants,
});

async function planStackConfig(values: Record<string, unknown>): Promise<PlanResult> {
  const config = Object.fromEntries(Object.entries(values).map(([k, v]) => [`twinstack:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
  return planProgram(runStack, { stack: String(values.env), config });
}

const ACME = { name: "acme", domains: ["acme.com"] };
const BRAND = { name: "brand", orgs: [{ org: "brand", tld: "shop" }], templates: ["ai.{org}.{tld}", "{org}.{tld}"] };
const key = (r: PlannedResource) => `${r.type}::${r.name}`;

describe("tenants in a stack", () => {
  let both: PlanResult;
  let acmeOnly: PlanResult;
  beforeAll(async () => {
    both = await planStackConfig(baseConfig([ACME, BRAND]));
    acmeOnly = await planStackConfig(baseConfig([ACME]));
  });

  it("gives every tenant its records (at dns.target) and a proxy site, and lists its domains in the outputs", () => {
    expect(byType(both.resources, HC_RRSET).map((r) => [r.name, r.props.zone, r.props.name, (r.props.records as { value: string }[])[0].value])).toEqual([
      ["shop-prod-tenant-acme-acme.com", "acme.com", "@", "198.51.100.9"],
      ["shop-prod-tenant-brand-ai.brand.shop", "brand.shop", "ai", "198.51.100.9"],
      ["shop-prod-tenant-brand-brand.shop", "brand.shop", "@", "198.51.100.9"],
    ]);
    expect(both.outputs.tenants).toEqual({ acme: ["acme.com"], brand: ["ai.brand.shop", "brand.shop"] });
    const caddyfile = String(both.outputs.caddyfile);
    expect(caddyfile).toMatch(/^acme\.com \{/m);
    expect(caddyfile).toMatch(/^ai\.brand\.shop, brand\.shop \{/m);
  });

  it("removing a tenant removes exactly its component and records", () => {
    const remaining = new Set(acmeOnly.resources.map(key));
    const removed = both.resources
      .filter((r) => !remaining.has(key(r)))
      .map(key)
      .sort();
    expect(removed).toEqual([
      "hcloud:index/zoneRrset:ZoneRrset::shop-prod-tenant-brand-ai.brand.shop",
      "hcloud:index/zoneRrset:ZoneRrset::shop-prod-tenant-brand-brand.shop",
      "twinstack:index:TenantDns::shop-prod-tenant-brand",
    ]);
    const before = new Set(both.resources.map(key));
    expect(acmeOnly.resources.filter((r) => !before.has(key(r)))).toEqual([]);
  });

  it("points records at the first host's address without dns.target, and declares no DNS without a provider", async () => {
    const edge = await planStackConfig(baseConfig([ACME], { provider: "digitalocean" }));
    expect(one(edge.resources, DO_RECORD).props).toMatchObject({ domain: "acme.com", name: "@", value: "203.0.113.20" });
    const none = await planStackConfig(baseConfig([ACME], { provider: "none" }));
    expect(byType(none.resources, "twinstack:index:TenantDns")).toEqual([]);
    expect(none.outputs.tenants).toEqual({ acme: ["acme.com"] });
    expect(String(none.outputs.caddyfile)).toMatch(/^acme\.com \{/m);
  });

  it(`declares more than ${TENANT_BATCH} tenants batch by batch: every tenant's component and records, each record under its own tenant, and the runner fleet`, async () => {
    const n = 2 * TENANT_BATCH + 3;
    const many = Array.from({ length: n }, (_, i) => ({ name: `t${i}`, domains: [`t${i}.example.com`, `www.t${i}.example.com`] }));
    const values = { ...baseConfig(many), runners: { count: 1, provider: "digitalocean", forgeUrl: "https://forge.example.com", adminCidr: "203.0.113.0/24" } };
    const plan = await planProgram(runStack, {
      stack: "prod",
      config: {
        ...Object.fromEntries(Object.entries(values).map(([k, v]) => [`twinstack:${k}`, typeof v === "string" ? v : JSON.stringify(v)])),
        "twinstack:runnerRegistrationToken": "token",
      },
      secretKeys: ["twinstack:runnerRegistrationToken"],
    });
    const components = byType(plan.resources, "twinstack:index:TenantDns");
    expect(components.map((r) => r.name).sort()).toEqual(many.map((t) => `shop-prod-tenant-${t.name}`).sort());
    const records = byType(plan.resources, HC_RRSET);
    expect(records).toHaveLength(2 * n);
    const componentUrn = new Map(components.map((c) => [c.name, c.urn]));
    for (const record of records) expect(record.parent).toBe(componentUrn.get(/^(shop-prod-tenant-t\d+)-/.exec(record.name)![1]));
    expect(Object.keys(plan.outputs.tenants as object)).toEqual(many.map((t) => t.name));
    expect(byType(plan.resources, "twinstack:index:RunnerFleet")).toHaveLength(1);
  });

  it("rejects a tenant without a domain (no domains, and no org a template applies to), also past the first batch, before anything is declared", async () => {
    const many = Array.from({ length: TENANT_BATCH + 10 }, (_, i) => ({ name: `t${i}`, domains: [`t${i}.example.com`] }));
    many[TENANT_BATCH + 3] = { name: "bare" } as (typeof many)[number];
    const err = await planStackConfig(baseConfig(many)).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(new RegExp(`twinstack:tenants\\[${TENANT_BATCH + 3}\\]: tenant "bare" has no domain`));
    expect(err?.message.split("\n").filter((l) => l.includes("has no domain"))).toHaveLength(1);
    await expect(planStackConfig(baseConfig([{ name: "orgsonly", orgs: [{ org: "brand", tld: "shop" }] }]))).rejects.toThrow(
      /twinstack:tenants\[0\]: tenant "orgsonly" has no domain/,
    );
    await expect(planStackConfig(baseConfig([{ name: "templatesonly", templates: ["ai.{org}.{tld}"] }]))).rejects.toThrow(
      /twinstack:tenants\[0\]: tenant "templatesonly" has no domain/,
    );
  });

  it("rejects two tenants of the same name", async () => {
    await expect(planStackConfig(baseConfig([ACME, { ...ACME, domains: ["acme.org"] }]))).rejects.toThrow(/twinstack:tenants\[1\]\.name: duplicate tenant name "acme"/);
  });
});
