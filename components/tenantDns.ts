// One tenant's DNS: an A record per domain the tenant brings or gets from its org templates,
// on DigitalOcean or Hetzner DNS, pointing at the env's edge (VIP or first host). One component
// per tenant, so removing a tenant from the config removes exactly its records (and its zones,
// when this stack manages them).
import * as digitalocean from "@pulumi/digitalocean";
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { InvariantError } from "./render/invariant";

export interface TenantDnsArgs {
  /** Physical name prefix carrying the env token, e.g. "cocotte-prod". */
  namePrefix: string;
  /** Env token, a label on hcloud records. */
  env: string;
  tenant: string;
  provider: "digitalocean" | "hcloud";
  /** Zones the records live in: the tenant's apex domains and its org zones ({org}.{tld}). */
  zones: string[];
  /** Fully qualified names to point at target; each must be a zone or inside one. */
  domains: string[];
  /** IPv4 address the A records hold. */
  target: pulumi.Input<string>;
  ttl: number;
  /** Also declare the zones (otherwise they exist already, outside this stack). */
  manageZones: boolean;
  /** Prod: protect managed zones against deletion (records stay removable with their tenant). */
  protect?: boolean;
}

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
