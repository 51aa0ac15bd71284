// One tenant's DNS: an A record per domain the tenant brings or gets from its org templates,
// on DigitalOcean or Hetzner DNS, pointing at the env's edge (VIP or first host). One component
// per tenant, so removing a tenant from the config removes exactly its records (and its zones,
// when this stack manages them).
import * as digitalocean from "@pulumi/digitalocean";
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { InvariantError } from "./render/invariant";

/** Arguments of {@link TenantDns}. */
export interface TenantDnsArgs {
  /** Physical name prefix carrying the env token, e.g. "cocotte-prod". */
  namePrefix: string;
  /** Env token, a label on hcloud records. */
  env: string;
  /** The tenant's name (`tenants[].name`): part of the child names and a label on hcloud zones. */
  tenant: string;
  /** DNS provider holding the zones (DigitalOcean Domains or Hetzner DNS zones). */
  provider: "digitalocean" | "hcloud";
  /** Zones the records live in: the tenant's apex domains and its org zones ({org}.{tld}). */
  zones: string[];
  /** Fully qualified names to point at target; each must be a zone or inside one. */
  domains: string[];
  /** IPv4 address the A records hold. */
  target: pulumi.Input<string>;
  /** TTL of the records (and managed hcloud zones), whole seconds >= 30 (config `dns.ttl`, default 300). */
  ttl: number;
  /** Also declare the zones (otherwise they exist already, outside this stack). */
  manageZones: boolean;
  /** Prod: protect managed zones against deletion (records stay removable with their tenant). */
  protect?: boolean;
}

/** One A record to declare: the FQDN, the zone it lives in and its name relative to the zone. */
export interface TenantRecord {
  /** FQDN, e.g. ai.cocotte.maison */
  domain: string;
  zone: string;
  /** Relative name in the zone: "@" for the apex. */
  name: string;
}

const NAME_RE = /^[a-z0-9][a-z0-9_.-]*$/;
const DNS_RE = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Splits each domain into its zone (the longest zone it is or ends in) and relative name. */
export function tenantRecords(zones: string[], domains: string[]): TenantRecord[] {
  const byLength = [...new Set(zones)].sort((a, b) => b.length - a.length);
  return [...new Set(domains)].map((domain) => {
    const zone = byLength.find((z) => domain === z || domain.endsWith(`.${z}`));
    if (!zone) throw new InvariantError(`domain ${domain} is in none of the tenant's zones (${byLength.join(", ")})`);
    return { domain, zone, name: domain === zone ? "@" : domain.slice(0, -(zone.length + 1)) };
  });
}

/**
 * DNS of one tenant: an A record per domain pointing at `target`, in the zone each domain belongs to
 * ({@link tenantRecords}), and the zones themselves with `manageZones`. Type token
 * `twinstack:index:TenantDns`. Children: zones (DigitalOcean Domain / hcloud Zone) and records
 * (DigitalOcean DnsRecord / hcloud ZoneRrset), named from `name`.
 * @throws InvariantError when `namePrefix` lacks the env token, the provider is unknown, a zone or
 * domain is not a lower-case domain name or lies in none of the zones, or `ttl` is not a whole number >= 30.
 * @example
 * new TenantDns("prod-tenant-cocotte", {
 *   namePrefix: "cocotte-prod", env: "prod", tenant: "cocotte", provider: "hcloud",
 *   zones: ["cocotte.maison"], domains: ["cocotte.maison", "ai.cocotte.maison"],
 *   target: "203.0.113.10", ttl: 300, manageZones: false, protect: true,
 * }, { parent: this });
 */
export class TenantDns extends pulumi.ComponentResource {
  readonly domains: string[];
  readonly records: TenantRecord[];

  constructor(name: string, args: TenantDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("twinstack:index:TenantDns", name, {}, opts);
    const fail = (message: string): never => {
      throw new InvariantError(`TenantDns ${name}: ${message}`);
    };
    if (!NAME_RE.test(args.namePrefix) || !args.namePrefix.split("-").includes(args.env)) {
      fail(`namePrefix ${JSON.stringify(args.namePrefix)} must carry the env token ${JSON.stringify(args.env)}`);
    }
    if (args.provider !== "digitalocean" && args.provider !== "hcloud") fail(`provider must be "digitalocean" or "hcloud", got ${JSON.stringify(args.provider)}`);
    for (const d of [...args.zones, ...args.domains]) if (!DNS_RE.test(d)) fail(`${JSON.stringify(d)} is not a lower-case domain name`);
    if (!Number.isInteger(args.ttl) || args.ttl < 30) fail(`ttl must be a whole number of seconds >= 30, got ${args.ttl}`);

    this.records = tenantRecords(args.zones, args.domains);
    this.domains = this.records.map((r) => r.domain);
    const base = `${args.namePrefix}-tenant-${args.tenant}`;

    // Records wait for the zones this stack declares (by name: both providers take the zone name).
    const zoneResources: Record<string, pulumi.Resource> = {};
    if (args.manageZones) {
      for (const zone of [...new Set(this.records.map((r) => r.zone))]) {
        const childName = `${name}-zone-${zone}`;
        zoneResources[zone] =
          args.provider === "digitalocean"
            ? // No ipAddress: DigitalOcean would add its own apex record beside ours.
              new digitalocean.Domain(childName, { name: zone }, { parent: this, protect: args.protect })
            : new hcloud.Zone(childName, { name: zone, mode: "primary", ttl: args.ttl, labels: { env: args.env, tenant: args.tenant } }, { parent: this, protect: args.protect });
      }
    }

    for (const record of this.records) {
      const childName = `${base}-${record.domain}`;
      const dependsOn = zoneResources[record.zone] ? [zoneResources[record.zone]] : undefined;
      if (args.provider === "digitalocean") {
        new digitalocean.DnsRecord(childName, { domain: record.zone, name: record.name, type: "A", value: args.target, ttl: args.ttl }, { parent: this, dependsOn });
      } else {
        new hcloud.ZoneRrset(
          childName,
          { zone: record.zone, name: record.name, type: "A", ttl: args.ttl, records: [{ value: args.target }], labels: { env: args.env, tenant: args.tenant } },
          { parent: this, dependsOn },
        );
      }
    }

    this.registerOutputs({ domains: this.domains });
  }
}
