// Tenants onboarded by config: every tenant in `tenants` gets its proxy sites (stacks/instance.ts)
// and, with a DNS provider, one TenantDns with an A record per domain. Adding or removing a tenant
// in Pulumi.<stack>.yaml adds or removes exactly that tenant's resources; no code change.
import * as pulumi from "@pulumi/pulumi";
import { TenantDns } from "../components/tenantDns";
import { LoadedConfig } from "./config";
import { configProblem } from "./hosts";
import { tenantDomains } from "./instance";
import { TenantConfig } from "../model/schema";
import { namePrefix } from "../model/names";

/** The zones a tenant's records live in: its apex domains and its org zones {org}.{tld}. */
export function tenantZones(tenant: TenantConfig): string[] {
  return [...new Set([...tenant.domains, ...tenant.orgs.map((o) => `${o.org}.${o.tld}`)])];
}

export interface ComposedTenants {
  /** Every tenant's TenantDns, in config order; filled batch by batch while `pending` runs. */
  dns: TenantDns[];
  /** tenant name -> its domains (a stack output). */
  tenants: Record<string, string[]>;
  /** Set with more than TENANT_BATCH tenants: settles once the last batch is declared. */
  pending?: Promise<void>;
}

/**
 * Tenants declared at once. Past this many, the rest are declared in batches of this size with a
 * turn of the event loop between them: the same resources, names, inputs and order of declaration,
 * but the registrations of one batch finish before the next starts instead of all waiting together
 * (the SDK keeps ~20 promises per output property until a registration completes; declared at once,
 * 1,000 tenants held ~580 MiB, in batches ~250 MiB, and ~35% less CPU: issue 17). A stack of up to
 * this many tenants is declared as before, in one synchronous pass.
 */
export const TENANT_BATCH = 25;

/**
 * `edge` is where records point when dns.target is not set: the env's VIP, else its first host's
 * public address.
 */
export function composeTenants(loaded: LoadedConfig, edge: pulumi.Input<string> | undefined): ComposedTenants {
  const c = loaded.config;
  const tenants = Object.fromEntries(c.tenants.map((t) => [t.name, tenantDomains(t)]));
  // Tenant names are unique: checked by config validation (model/validate.ts).
  if (c.dns.provider === "none" || c.tenants.length === 0) return { dns: [], tenants };
  const target = c.dns.target ?? edge;
  if (target === undefined) throw configProblem(loaded, "dns.target", "required key is missing: no VIP or host address to point the tenants' records at");

  const prefix = namePrefix(c.app?.name ?? loaded.stack, c.env);
  const declare = (t: TenantConfig) =>
    new TenantDns(`${prefix}-tenant-${t.name}`, {
      namePrefix: prefix,
      env: c.env,
      tenant: t.name,
      provider: c.dns.provider as "digitalocean" | "hcloud",
      zones: tenantZones(t),
      domains: tenants[t.name],
      target,
      ttl: c.dns.ttl,
      manageZones: c.dns.manageZones,
      protect: c.env === "prod",
    });
  const dns = c.tenants.slice(0, TENANT_BATCH).map(declare);
  if (c.tenants.length <= TENANT_BATCH) return { dns, tenants };
  const pending = (async () => {
    for (let i = TENANT_BATCH; i < c.tenants.length; i += TENANT_BATCH) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      dns.push(...c.tenants.slice(i, i + TENANT_BATCH).map(declare));
    }
  })();
  return { dns, tenants, pending };
}
