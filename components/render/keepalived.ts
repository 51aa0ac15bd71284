// keepalived.conf for one node of a VRRP group (VirtualIp on a LAN). Pure: no Pulumi imports.
//
// keepalived's parser is forgiving in ways that hurt: it truncates long auth passes, treats
// '#' and '!' as comments anywhere on a line, substitutes `$NAME`, and on a bad value logs a
// warning and carries on. So everything is validated here and rejected with a message that
// names the field, instead of producing a file that "works" differently than configured.

/** One VRRP peer: its name, its own unicast address, and its priority. */
export interface VrrpNode {
  name: string;
  address: string;
  /** Highest priority = MASTER. 1..254 (255 is reserved for the address owner). */
  priority: number;
}

/** Input of {@link renderKeepalivedConf} (keepalived.conf(5)): one vrrp_instance with unicast peers. */
export interface KeepalivedConfArgs {
  /** vrrp_instance name, e.g. "gigi_dev" (carries the env token). */
  instanceName: string;
  /**
   * "192.168.1.52" or "192.168.1.52/24". IPv4 only: PASS auth exists only in VRRPv2. Omitted for
   * a cloud VIP, which the cloud routes (notifyMaster moves it) rather than keepalived adding it.
   */
  virtualIp?: string;
  /** Network interface the instance runs on (and the VIP is added to), a Linux interface name, e.g. "eth0". */
  interface: string;
  /** 1..255, distinct per env on one LAN segment. */
  virtualRouterId: number;
  /** VRRP PASS auth, 1..8 chars (keepalived silently truncates longer ones). */
  authPass: string;
  /** >= 1 node; unicast peers are every other node's address. */
  nodes: VrrpNode[];
  /** Name of the node this file is for. */
  self: string;
  /**
   * A vrrp_script whose failure takes the node out of MASTER: command, `intervalSeconds` between runs,
   * `timeoutSeconds`, `fall`/`rise` consecutive results, `weight`. Absent: no track script.
   */
  trackScript?: {
    name: string;
    command: string;
    intervalSeconds?: number;
    /**
     * Seconds after which a run of the script counts as failed (keepalived.conf(5), vrrp_script
     * `timeout`). Omitted: not rendered, keepalived's own default applies.
     */
    timeoutSeconds?: number;
    fall?: number;
    rise?: number;
    weight?: number;
  };
  /** VRRP advertisement interval, seconds (`advert_int`). @default 1 */
  advertIntervalSeconds?: number;
  /** Absolute path of a script keepalived runs on becoming MASTER (`notify_master`). */
  notifyMaster?: string;
}

import { RenderInvariantError } from "./invariant";
import { IFACE_RE } from "../../model/hostValues";

/** A keepalived.conf renderer invariant failed; the message names the bad value. */
export class KeepalivedConfigError extends RenderInvariantError {
  constructor(message: string) {
    super(message);
    this.name = "KeepalivedConfigError";
  }
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
// IFACE_RE (Linux IFNAMSIZ): model/hostValues.ts.
export { IFACE_RE };
// Printable ASCII minus what keepalived's lexer interprets: whitespace, quotes, backslash
// escapes, '#'/'!' comments, '$' parameter substitution, braces.
const AUTH_PASS_RE = /^[A-Za-z0-9%&()*+,./:;<=>?@\[\]^_`|~-]{1,8}$/;
// The script string goes inside "..."; keepalived itself splits it on unquoted spaces and
// honours single quotes, so those are allowed. What it would reinterpret is not.
const SCRIPT_FORBIDDEN_RE = /["\\#!${}\r\n\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;

function fail(message: string): never {
  throw new KeepalivedConfigError(`keepalived.conf: ${message}`);
}

function checkName(field: string, value: unknown): string {
  if (typeof value !== "string" || !NAME_RE.test(value)) {
    fail(`${field} ${JSON.stringify(value)} is not a valid name: use 1-64 of [A-Za-z0-9_.:-], ` + `starting with a letter or digit (no whitespace, braces or quotes)`);
  }
  return value;
}

function isIpv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

function checkIpv4(field: string, value: unknown): string {
  if (typeof value !== "string" || !isIpv4(value)) {
    fail(`${field} ${JSON.stringify(value)} is not an IPv4 address (dotted quad, no prefix)`);
  }
  return value;
}

function checkInt(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(`${field} ${JSON.stringify(value)} must be an integer in ${min}..${max}`);
  }
  return value;
}

function checkVirtualIp(value: unknown): { address: string; cidr: string } {
  if (typeof value !== "string") fail(`virtualIp ${JSON.stringify(value)} is not a string`);
  const [address, prefix, ...rest] = value.split("/");
  if (rest.length > 0 || !isIpv4(address)) {
    fail(`virtualIp ${JSON.stringify(value)} must be an IPv4 address, optionally with /prefix`);
  }
  if (prefix !== undefined && !/^(0|[1-9][0-9]?)$/.test(prefix)) {
    fail(`virtualIp ${JSON.stringify(value)} has a bad prefix length`);
  }
  if (prefix !== undefined && (Number(prefix) < 1 || Number(prefix) > 32)) {
    fail(`virtualIp ${JSON.stringify(value)} prefix length must be 1..32`);
  }
  return { address, cidr: value };
}

/** Validated, normalised view of the args; rendering works only from this. */
function validate(args: KeepalivedConfArgs) {
  if (args === null || typeof args !== "object") fail("args must be an object");
  const instanceName = checkName("instanceName", args.instanceName);
  const vip = args.virtualIp === undefined ? undefined : checkVirtualIp(args.virtualIp);

  if (typeof args.interface !== "string" || !IFACE_RE.test(args.interface)) {
    fail(`interface ${JSON.stringify(args.interface)} is not a valid Linux interface name ` + `(1-15 of [A-Za-z0-9_.-])`);
  }
  if (args.interface === "lo") fail(`interface "lo": keepalived refuses VRRP on loopback`);

  const virtualRouterId = checkInt("virtualRouterId", args.virtualRouterId, 1, 255);

  if (typeof args.authPass !== "string" || args.authPass.length === 0) {
    fail("authPass must be a non-empty string");
  }
  if (args.authPass.length > 8) {
    // Never echo the secret itself.
    fail(`authPass is ${args.authPass.length} characters; VRRP PASS auth keeps only 8, so use 1..8`);
  }
  if (!AUTH_PASS_RE.test(args.authPass)) {
    fail("authPass contains a character keepalived would reinterpret (whitespace, quote, " + "backslash, '#', '!', '$', brace or non-ASCII)");
  }

  if (!Array.isArray(args.nodes) || args.nodes.length === 0) fail("nodes must list at least one node");
  const seenNames = new Set<string>();
  const seenAddresses = new Set<string>();
  const seenPriorities = new Map<number, string>();
  const nodes = args.nodes.map((n, i) => {
    const name = checkName(`nodes[${i}].name`, n?.name);
    const address = checkIpv4(`nodes[${i}].address`, n?.address);
    const priority = checkInt(`nodes[${i}].priority (${name})`, n?.priority, 1, 254);
    if (seenNames.has(name)) fail(`node name ${JSON.stringify(name)} appears twice`);
    if (seenAddresses.has(address)) fail(`node address ${address} appears twice`);
    const clash = seenPriorities.get(priority);
    if (clash !== undefined) {
      fail(`nodes ${clash} and ${name} share priority ${priority}; priorities must differ so ` + `exactly one node is MASTER`);
    }
    if (address === vip?.address) {
      fail(`node ${name} address ${address} is the virtual IP itself`);
    }
    seenNames.add(name);
    seenAddresses.add(address);
    seenPriorities.set(priority, name);
    return { name, address, priority };
  });

  const self = nodes.find((n) => n.name === args.self);
  if (!self) {
    fail(`self ${JSON.stringify(args.self)} is not one of the nodes ` + `(${nodes.map((n) => n.name).join(", ")})`);
  }

  const byPriority = [...nodes].sort((a, b) => b.priority - a.priority);
  const master = byPriority[0];

  const advertInt = checkInt("advertIntervalSeconds", args.advertIntervalSeconds ?? 1, 1, 255);

  let track: { name: string; command: string; interval: number; timeout?: number; fall: number; rise: number; weight?: number } | undefined;
  if (args.trackScript !== undefined) {
    const t = args.trackScript;
    const name = checkName("trackScript.name", t?.name);
    if (typeof t.command !== "string" || t.command.trim() === "") {
      fail("trackScript.command must be a non-empty string");
    }
    if (SCRIPT_FORBIDDEN_RE.test(t.command)) {
      fail(
        `trackScript.command ${JSON.stringify(t.command)} contains a character keepalived ` + `would reinterpret (double quote, backslash, '#', '!', '$', brace or control char)`,
      );
    }
    if (!t.command.trimStart().startsWith("/")) {
      // enable_script_security checks the executable's path; a bare name is resolved via
      // PATH at run time and the config test cannot vouch for it.
      fail(`trackScript.command must start with an absolute path, got ${JSON.stringify(t.command)}`);
    }
    const weight = t.weight === undefined ? undefined : checkInt("trackScript.weight", t.weight, -253, 253);
    if (weight !== undefined && weight !== 0 && byPriority.length > 1) {
      // With a weight the instance does not go to FAULT on failure; it only shifts
      // priority. If the shift is smaller than the gap the VIP never moves.
      const gap = master.priority - byPriority[1].priority;
      if (Math.abs(weight) <= gap) {
        fail(
          `trackScript.weight ${weight} cannot move the VIP: MASTER ${master.name} (priority ` +
            `${master.priority}) is ${gap} above ${byPriority[1].name}; use |weight| > ${gap} ` +
            `or omit weight (failure then puts the instance in FAULT)`,
        );
      }
    }
    track = {
      name,
      command: t.command.trim(),
      interval: checkInt("trackScript.intervalSeconds", t.intervalSeconds ?? 2, 1, 3600),
      timeout: t.timeoutSeconds === undefined ? undefined : checkInt("trackScript.timeoutSeconds", t.timeoutSeconds, 1, 3600),
      fall: checkInt("trackScript.fall", t.fall ?? 2, 1, 1000),
      rise: checkInt("trackScript.rise", t.rise ?? 2, 1, 1000),
      weight: weight === 0 ? undefined : weight,
    };
  }

  let notifyMaster: string | undefined;
  if (args.notifyMaster !== undefined) {
    // Quoted in the file; enable_script_security also checks the path is root-owned.
    if (typeof args.notifyMaster !== "string" || !/^\/[A-Za-z0-9_.\/-]+$/.test(args.notifyMaster)) {
      fail(`notifyMaster ${JSON.stringify(args.notifyMaster)} must be an absolute path of [A-Za-z0-9_./-]`);
    }
    notifyMaster = args.notifyMaster;
  }

  return {
    instanceName,
    vip,
    notifyMaster,
    iface: args.interface,
    virtualRouterId,
    authPass: args.authPass,
    self,
    isMaster: self.name === master.name,
    peers: nodes.filter((n) => n.name !== self.name),
    advertInt,
    track,
  };
}

/**
 * keepalived.conf for node `self`: one VRRP instance, unicast to the other nodes, PASS auth,
 * script security on (scripts run as root). Pure; checked by the real `keepalived --config-test`.
 * @throws KeepalivedConfigError on a bad name, address, interface, router id, password, priority, or unknown `self`.
 */
export function renderKeepalivedConf(args: KeepalivedConfArgs): string {
  const v = validate(args);
  const out: string[] = [];
  out.push(
    "# Rendered by twinstack; do not edit by hand.",
    "global_defs {",
    `    router_id ${v.self.name}`,
    // Scripts must not be writable by non-root; root always exists, even in minimal images
    // (the default keepalived_script user usually does not, which fails the config test).
    "    enable_script_security",
    "    script_user root",
    "}",
    "",
  );
  if (v.track) {
    out.push(`vrrp_script ${v.track.name} {`, `    script "${v.track.command}"`, `    interval ${v.track.interval}`);
    if (v.track.timeout !== undefined) out.push(`    timeout ${v.track.timeout}`);
    out.push(`    fall ${v.track.fall}`, `    rise ${v.track.rise}`);
    if (v.track.weight !== undefined) out.push(`    weight ${v.track.weight}`);
    out.push("}", "");
  }
  out.push(
    `vrrp_instance ${v.instanceName} {`,
    `    state ${v.isMaster ? "MASTER" : "BACKUP"}`,
    `    interface ${v.iface}`,
    `    virtual_router_id ${v.virtualRouterId}`,
    `    priority ${v.self.priority}`,
    `    advert_int ${v.advertInt}`,
    "    authentication {",
    "        auth_type PASS",
    `        auth_pass ${v.authPass}`,
    "    }",
  );
  if (v.peers.length > 0) {
    out.push(`    unicast_src_ip ${v.self.address}`, "    unicast_peer {");
    for (const p of v.peers) out.push(`        ${p.address}`);
    out.push("    }");
  }
  if (v.vip) out.push("    virtual_ipaddress {", `        ${v.vip.cidr}`, "    }");
  if (v.notifyMaster) out.push(`    notify_master "${v.notifyMaster}"`);
  if (v.track) out.push("    track_script {", `        ${v.track.name}`, "    }");
  out.push("}", "");
  return out.join("\n");
}

/**
 * A track command that succeeds when something answers on <host>:<port> (default 127.0.0.1: the
 * local reverse proxy; a cloud VIP tracks the node's own private address, where the Swarm ingress
 * answers for the env's proxy service). Small keepalived images are Alpine/BusyBox: /bin/sh, nc and wget exist,
 * curl and bash usually do not. A TCP check (nc -z) is preferred because an HTTP status
 * check would fail on the proxy's own 401 (basic auth) or redirect to HTTPS; without a
 * usable nc it falls back to wget and counts any HTTP response (even 401) as alive.
 * `-t 1` stops GNU wget retrying a hung port 20 times; BusyBox wget accepts and ignores it.
 * Contains no characters keepalived reinterprets ('"', '#', '!', '$', '\').
 */
export function proxyTrackCommand(port: number, host = "127.0.0.1"): string {
  if (!/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(host)) {
    throw new KeepalivedConfigError(`proxyTrackCommand: host ${JSON.stringify(host)} must be an IPv4 address`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new KeepalivedConfigError(`proxyTrackCommand: port ${JSON.stringify(port)} must be 1..65535`);
  }
  return `/bin/sh -c 'nc -z -w 2 ${host} ${port} 2>/dev/null || ` + `wget -S -t 1 -T 2 -O /dev/null http://${host}:${port}/ 2>&1 | grep -q HTTP/'`;
}
