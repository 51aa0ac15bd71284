// Rule 8: no firewall opens Postgres, Redis or plain MQTT to the whole internet.
import { ResourceValidationPolicy } from "@pulumi/policy";
import { DATA_PORTS } from "../model/ports";
import { physicalName, T } from "./lib/resources";

/** "5432", "5000-6000", "all", "any", "" (all ports for tcp on DigitalOcean) -> inclusive range. */
export function portRange(spec: unknown): [number, number] | undefined {
  if (spec === undefined || spec === null) return [1, 65535];
  const text = String(spec).trim().toLowerCase();
  if (text === "" || text === "all" || text === "any" || text === "0") return [1, 65535];
  const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(text);
  if (!m) return undefined;
  const lo = Number(m[1]);
  return [lo, m[2] ? Number(m[2]) : lo];
}

/** A CIDR that covers every address: 0.0.0.0/0, ::/0 (and the bare forms). */
export function isWorld(source: unknown): boolean {
  const text = String(source).trim();
  return /\/0$/.test(text) || text === "0.0.0.0" || text === "::" || text === "*";
}

interface Rule {
  protocol: string;
  ports: unknown;
  sources: unknown[];
  inbound: boolean;
}

function rulesOf(type: string, props: Record<string, any>): Rule[] {
  if (type === T.doFirewall) {
    return (Array.isArray(props.inboundRules) ? props.inboundRules : []).map((r: any) => ({
      protocol: String(r?.protocol ?? "").toLowerCase(),
      ports: r?.portRange,
      sources: Array.isArray(r?.sourceAddresses) ? r.sourceAddresses : [],
      inbound: true,
    }));
  }
  if (type === T.hcloudFirewall) {
    return (Array.isArray(props.rules) ? props.rules : []).map((r: any) => ({
      protocol: String(r?.protocol ?? "").toLowerCase(),
      ports: r?.port,
      sources: Array.isArray(r?.sourceIps) ? r.sourceIps : [],
      inbound: String(r?.direction ?? "in").toLowerCase() === "in",
    }));
  }
  return [];
}

/**
 * Rule 8 (resource policy, mandatory): no DigitalOcean or Hetzner firewall rule opens a data port of
 * `model/ports` DATA_PORTS (PostgreSQL, Redis, ...) to the world (0.0.0.0/0, ::/0) over TCP.
 */
export const noPublicDataPorts: ResourceValidationPolicy = {
  name: "no-public-data-ports",
  description: `No firewall opens ${DATA_PORTS.map(({ port, what }) => `${what} (${port})`)
    .join(", ")
    .replace(/, ([^,]*)$/, " or $1")} to 0.0.0.0/0 or ::/0.`,
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (args.type !== T.doFirewall && args.type !== T.hcloudFirewall) return;
    const name = physicalName(args.props, args.name);
    const sourcesKey = args.type === T.doFirewall ? "sourceAddresses" : "sourceIps";
    for (const rule of rulesOf(args.type, args.props)) {
      if (!rule.inbound || (rule.protocol !== "tcp" && rule.protocol !== "")) continue;
      const world = rule.sources.filter(isWorld).map(String);
      if (!world.length) continue;
      const range = portRange(rule.ports);
      if (!range) continue;
      for (const { port, what } of DATA_PORTS) {
        if (port < range[0] || port > range[1]) continue;
        const opened = range[0] === range[1] ? `port ${port}` : `ports ${range[0]}-${range[1]} (incl. ${port})`;
        reportViolation(
          `firewall "${name}" opens ${what} (${opened}/tcp) to ${world.join(", ")}: restrict ${sourcesKey} to the hosts that need it (an admin or app CIDR) or drop the rule`,
        );
      }
    }
  },
};
