// DockerHosts: existing and provisioned Docker hosts of one env, and the swarm formed over SSH.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { DockerHosts, DockerHostsArgs, READY_SCRIPT, subnetHostIp, swarmInitScript, swarmJoinScript, swarmLabelScript } from "../components/dockerHosts";
import { runStack } from "../stacks";
import { PlanResult, PlannedResource, SecretValue, byType, one, planProgram } from "./harness";

const SERVER = "hcloud:index/server:Server";
const DROPLET = "digitalocean:index/droplet:Droplet";
const COMMAND = "command:remote:Command";
const ADMIN_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEFkbWluS2V5Rm9yVGVzdHNPbmx5MDAwMDAwMDAwMDA admin@example";

const hcloudHost = (name: string, role: "manager" | "worker" = "manager") => ({
  name,
  sshUser: "deploy",
  role,
  provision: { provider: "hcloud" as const, type: "ccx13", location: "ash", image: "ubuntu-24.04", sshKeys: [ADMIN_KEY, "ops-laptop"] },
});

function hostsArgs(overrides: Partial<DockerHostsArgs> = {}): DockerHostsArgs {
  return {
    namePrefix: "shop-prod",
    env: "prod",
    hosts: [hcloudHost("node1"), hcloudHost("node2", "worker"), hcloudHost("node3", "worker")],
    swarm: true,
    adminCidr: "198.51.100.0/24",
    publicPorts: [
      { port: 80, protocol: "tcp", description: "HTTP" },
      { port: 443, protocol: "tcp", description: "HTTPS" },
    ],
    adminPorts: [{ port: 5000, description: "HAProxy" }],
    privateNetwork: { ipRange: "10.0.0.0/16", subnet: "10.0.1.0/24", zone: "us-east" },
    protect: true,
    ...overrides,
  };
}

async function plan(args: DockerHostsArgs) {
  return planProgram(
    () => {
      const hosts = new DockerHosts(`${args.namePrefix}-hosts`, args);
      return { hosts: hosts.hosts, publicAddresses: hosts.publicAddresses, deployPrivateKey: hosts.deployPrivateKey };
    },
    { stack: args.env, config: {} },
  );
}

const commandsNamed = (resources: PlannedResource[], suffix: string) => byType(resources, COMMAND).filter((c) => c.name.endsWith(suffix));
const visible = (r: PlannedResource) => JSON.stringify(r.inputs, (_k, v) => (v instanceof SecretValue ? "[secret]" : v));

describe("helpers", () => {
  it("numbers hosts from .11 of the subnet", () => {
    expect(subnetHostIp("10.0.1.0/24", 0)).toBe("10.0.1.11");
    expect(subnetHostIp("10.0.1.0/24", 2)).toBe("10.0.1.13");
    expect(subnetHostIp("172.16.255.0/23", 250)).toBe("172.17.0.5");
    expect(() => subnetHostIp("10.0.1.0/28", 4)).toThrow(/no room/);
  });
});

describe("swarm scripts, run by a real shell against a fake docker", () => {
  let dir: string;
  const run = (script: string, state: string, stdin = "") => {
    fs.writeFileSync(path.join(dir, "log"), "");
    const out = execFileSync("sh", ["-c", script], { input: stdin, env: { PATH: `${dir}:/usr/bin:/bin`, FAKE_STATE: state, FAKE_LOG: path.join(dir, "log") } }).toString();
    return {
      out,
      calls: fs
        .readFileSync(path.join(dir, "log"), "utf8")
        .trim()
        .split("\n")
        .filter((l) => l),
    };
  };
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-docker-"));
    const fake = [
      "#!/bin/sh",
      'echo "$*" >>"$FAKE_LOG"',
      'case "$*" in',
      '  "info --format {{.Swarm.LocalNodeState}}") echo "$FAKE_STATE" ;;',
      '  "info --format {{.Swarm.NodeID}}") echo node-abc123 ;;',
      "esac",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "docker"), fake, { mode: 0o755 });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("init: initialises an inactive node on its advertise address and prints the node id", () => {
    const { out, calls } = run(swarmInitScript("10.0.1.11"), "inactive");
    expect(calls).toContain("swarm init --advertise-addr 10.0.1.11");
    expect(out.trim()).toBe("node-abc123");
  });

  it("init and join leave a node that is already in a swarm alone", () => {
    expect(run(swarmInitScript("10.0.1.11"), "active").calls.filter((c) => c.startsWith("swarm"))).toEqual([]);
    expect(run(swarmJoinScript("10.0.1.12", "10.0.1.11"), "active", "SWMTKN-1-secret\n").calls.filter((c) => c.startsWith("swarm"))).toEqual([]);
  });

  it("join: reads the token from stdin only, joins the manager on 2377", () => {
    const script = swarmJoinScript("10.0.1.12", "10.0.1.11");
    expect(script).not.toContain("SWMTKN");
    const { out, calls } = run(script, "inactive", "SWMTKN-1-secret\n");
    expect(calls).toContain("swarm join --token SWMTKN-1-secret --advertise-addr 10.0.1.12 10.0.1.11:2377");
    expect(out.trim()).toBe("node-abc123");
  });

  it("label: tags the node with its host name; quoting survives odd input", () => {
    expect(run(swarmLabelScript("node2", "node-abc123\n"), "active").calls).toEqual(["node update --label-add twinstack.host=node2 node-abc123"]);
    expect(swarmInitScript("x'; rm -rf /; '")).toContain(`'x'\\''; rm -rf /; '\\'''`);
  });

  it("every script is valid sh", () => {
    for (const s of [swarmInitScript("a"), swarmJoinScript("a", "b"), swarmLabelScript("n", "id"), READY_SCRIPT]) execFileSync("sh", ["-n"], { input: s });
  });
});

describe("DockerHosts on Hetzner Cloud, as a swarm on a private network", () => {
  let result: PlanResult;
  beforeAll(async () => {
    result = await plan(hostsArgs());
  });

  it("provisions <prefix>-host-<name> servers with cloud-init that installs Docker for the admin user", () => {
    const servers = byType(result.resources, SERVER);
    const key = one(result.resources, "hcloud:index/sshKey:SshKey");
    expect(servers.map((s) => s.props.name)).toEqual(["shop-prod-host-node1", "shop-prod-host-node2", "shop-prod-host-node3"]);
    for (const [i, s] of servers.entries()) {
      expect(s.props).toMatchObject({
        serverType: "ccx13",
        location: "ash",
        image: "ubuntu-24.04",
        networks: [{ ip: `10.0.1.${11 + i}` }],
        labels: { env: "prod", "twinstack-host": `node${i + 1}` },
      });
      // The env's deploy key (registered in hcloud) and the account key named in config; admin keys go to cloud-init.
      expect(s.props.sshKeys).toEqual([key.state.id ?? `${key.name}-id`, "ops-laptop"]);
      const userData = YAML.parse(String(s.props.userData));
      expect(userData.packages).toContain("docker.io");
      expect(userData.users[0]).toMatchObject({ name: "deploy", groups: ["docker"] });
      // The deploy key, the literal admin key, and the account key "ops-laptop" looked up by name:
      // hcloud installs account keys for root only, and root login is disabled.
      expect(userData.users[0].ssh_authorized_keys).toEqual([expect.stringMatching(/^ssh-ed25519 /), ADMIN_KEY, expect.stringMatching(/^ssh-ed25519 \S+ ops-laptop$/)]);
      expect(userData.disable_root).toBe(true);
      expect(s.opts.protect).toBe(true);
      expect(s.opts.dependsOn).toContain(one(result.resources, "hcloud:index/networkSubnet:NetworkSubnet").urn);
    }
    expect(one(result.resources, "hcloud:index/network:Network").props).toMatchObject({ name: "shop-prod-net", ipRange: "10.0.0.0/16" });
  });

  it("lets in SSH and adminPorts from the admin range, publicPorts from everywhere, nothing else", () => {
    const fw = one(result.resources, "hcloud:index/firewall:Firewall");
    expect(fw.props.name).toBe("shop-prod-hosts");
    expect((fw.props.rules as any[]).map((r) => [r.direction, r.protocol, r.port, r.sourceIps])).toEqual([
      ["in", "tcp", "22", ["198.51.100.0/24"]],
      ["in", "tcp", "5000", ["198.51.100.0/24"]],
      ["in", "tcp", "80", ["0.0.0.0/0", "::/0"]],
      ["in", "tcp", "443", ["0.0.0.0/0", "::/0"]],
    ]);
    for (const s of byType(result.resources, SERVER)) expect((s.props.firewallIds as unknown[]).length).toBe(1);
  });

  it("forms the swarm over SSH with the deploy key: init on the first manager, tokens as secrets, joins fed on stdin, nodes labelled", () => {
    const init = one(commandsNamed(result.resources, "swarm-init-node1"), COMMAND);
    expect(String(init.props.create)).toContain("advertise_addr='10.0.1.11'\n");
    const token = one(commandsNamed(result.resources, "swarm-token-worker"), COMMAND);
    expect(token.opts.additionalSecretOutputs).toEqual(["stdout"]);
    expect(commandsNamed(result.resources, "swarm-token-manager")).toEqual([]);
    for (const name of ["node2", "node3"]) {
      const join = one(commandsNamed(result.resources, `swarm-join-${name}`), COMMAND);
      expect(join.inputs.stdin).toBeInstanceOf(SecretValue);
      expect(String(join.props.stdin)).toMatch(/^SWMTKN-1-/);
      expect(visible(join)).not.toContain("SWMTKN");
      expect(String(join.props.create)).toContain("'10.0.1.11:2377'");
      expect(join.props.delete).toContain("docker swarm leave");
      expect(join.props.connection).toMatchObject({ user: "deploy" });
      expect(join.inputs.connection as any).toBeInstanceOf(SecretValue);
    }
    expect(commandsNamed(result.resources, "-ready")).toHaveLength(3);
    expect(
      byType(result.resources, COMMAND)
        .filter((c) => c.name.includes("swarm-label-"))
        .map((c) => String(c.props.create)),
    ).toEqual([expect.stringContaining("twinstack.host=node1"), expect.stringContaining("twinstack.host=node2"), expect.stringContaining("twinstack.host=node3")]);
  });

  it("hands InstanceStack ssh://<sshUser>@<ipv4> endpoints, the private address and the server id", () => {
    const servers = byType(result.resources, SERVER);
    const hosts = result.outputs.hosts as { name: string; docker: string; address: string; serverId: string }[];
    expect(hosts.map((h) => h.name)).toEqual(["node1", "node2", "node3"]);
    hosts.forEach((h, i) => {
      expect(h.docker).toBe(`ssh://deploy@${servers[i].state.ipv4Address}`);
      expect(h.address).toBe(`10.0.1.${11 + i}`);
      expect(h.serverId).toBe(`${servers[i].name}-id`);
    });
    expect(result.outputs.publicAddresses).toEqual({ node1: servers[0].state.ipv4Address, node2: servers[1].state.ipv4Address, node3: servers[2].state.ipv4Address });
    expect(result.outputs.deployPrivateKey).toBeInstanceOf(SecretValue);
    const pem = String((result.outputs.deployPrivateKey as SecretValue).value);
    for (const r of result.resources) expect(visible(r)).not.toContain(pem.split("\n")[1]);
  });
});

describe("DockerHosts on DigitalOcean and with existing hosts", () => {
  it("provisions droplets in a tagged group whose firewall lets members talk and the world reach publicPorts only", async () => {
    // A droplet's private address is only known once it exists: export the endpoints only.
    const { resources, outputs } = await planProgram(
      () => ({
        endpoints: new DockerHosts(
          "shop-dev-hosts",
          hostsArgs({
            namePrefix: "shop-dev",
            env: "dev",
            protect: false,
            privateNetwork: undefined,
            swarm: false,
            hosts: [
              {
                name: "web",
                sshUser: "deploy",
                role: "manager",
                provision: { provider: "digitalocean", type: "s-2vcpu-4gb", location: "nyc3", image: "ubuntu-24.04", sshKeys: [ADMIN_KEY] },
              },
            ],
          }),
        ).hosts.map((h) => h.docker),
      }),
      { stack: "dev", config: {} },
    );
    const droplet = one(resources, DROPLET);
    expect(droplet.props).toMatchObject({ name: "shop-dev-host-web", size: "s-2vcpu-4gb", region: "nyc3", image: "ubuntu-24-04-x64", tags: ["dev", "shop-dev-hosts"] });
    expect(droplet.opts.protect).toBe(false);
    const fw = one(resources, "digitalocean:index/firewall:Firewall");
    expect(fw.props.tags).toEqual(["shop-dev-hosts"]);
    const inbound = fw.props.inboundRules as any[];
    expect(inbound.filter((r) => r.sourceAddresses?.includes("0.0.0.0/0")).map((r) => r.portRange)).toEqual(["80", "443"]);
    expect(inbound.find((r) => r.portRange === "22").sourceAddresses).toEqual(["198.51.100.0/24"]);
    expect(inbound.filter((r) => r.sourceTags).map((r) => r.sourceTags)).toEqual([["shop-dev-hosts"], ["shop-dev-hosts"]]);
    expect(byType(resources, SERVER)).toEqual([]);
    expect(outputs.endpoints).toEqual([`ssh://deploy@${droplet.state.ipv4Address}`]);
    expect(one(resources, "digitalocean:index/sshKey:SshKey").props.name).toBe("shop-dev-deploy");
  });

  it("joins existing hosts over the operator's SSH agent, with swarm ports open to them on the provisioned host", async () => {
    const { resources, outputs } = await plan(
      hostsArgs({
        privateNetwork: undefined,
        hosts: [hcloudHost("edge"), { name: "lan", sshUser: "root", role: "worker", docker: "ssh://ops@10.0.0.11", address: "198.51.100.11" }],
      }),
    );
    const join = one(commandsNamed(resources, "swarm-join-lan"), COMMAND);
    expect(join.props.connection).toMatchObject({ host: "10.0.0.11", user: "ops" });
    expect(join.props.connection).not.toHaveProperty("privateKey");
    const server = one(resources, SERVER);
    expect(String(join.props.create)).toContain(`'${server.state.ipv4Address}:2377'`);
    const rules = one(resources, "hcloud:index/firewall:Firewall").props.rules as any[];
    expect(rules.filter((r) => r.sourceIps.includes("198.51.100.11/32")).map((r) => `${r.port}/${r.protocol}`)).toEqual(["2377/tcp", "7946/tcp", "7946/udp", "4789/udp"]);
    expect((outputs.hosts as { name: string; docker: string }[]).map((h) => [h.name, h.docker])).toEqual([
      ["edge", `ssh://deploy@${server.state.ipv4Address}`],
      ["lan", "ssh://ops@10.0.0.11"],
    ]);
  });

  it("forms a swarm of existing hosts only with no cloud resources and no deploy key", async () => {
    const { resources, outputs } = await plan(
      hostsArgs({
        hosts: [
          { name: "a", sshUser: "root", role: "manager", docker: "ssh://deploy@10.0.0.1", address: "10.0.0.1" },
          { name: "b", sshUser: "root", role: "manager", docker: "ssh://deploy@10.0.0.2", address: "10.0.0.2" },
        ],
      }),
    );
    expect(resources.filter((r) => /^(hcloud|digitalocean|tls):/.test(r.type))).toEqual([]);
    expect(commandsNamed(resources, "swarm-token-manager")).toHaveLength(1);
    expect(outputs.deployPrivateKey).toBeUndefined();
  });

  it("rejects root logins, a missing or world-wide admin range and half-described hosts", async () => {
    const attempt = (args: DockerHostsArgs) => planProgram(() => new DockerHosts("h", args), { stack: "prod", config: {} });
    await expect(attempt(hostsArgs({ hosts: [{ ...hcloudHost("a"), sshUser: "root" }] }))).rejects.toThrow(/non-root/);
    await expect(attempt(hostsArgs({ adminCidr: undefined }))).rejects.toThrow(/adminCidr/);
    await expect(attempt(hostsArgs({ adminCidr: "0.0.0.0/0" }))).rejects.toThrow(/whole internet/);
    await expect(attempt(hostsArgs({ hosts: [{ ...hcloudHost("a"), docker: "ssh://x@y" }] }))).rejects.toThrow(/either existing/);
    await expect(attempt(hostsArgs({ hosts: [{ name: "a", sshUser: "root", role: "manager", docker: "ssh://deploy@10.0.0.1" }] }))).rejects.toThrow(/advertise address/);
    await expect(attempt(hostsArgs({ namePrefix: "shop" }))).rejects.toThrow(/env token/);
  });
});

describe("provisioned hosts through the program", () => {
  const config = (hosts: unknown[], extra: Record<string, unknown> = {}) => ({
    "twinstack:env": "prod",
    "twinstack:domains": JSON.stringify(["shop.example.com"]),
    "twinstack:hosts": JSON.stringify(hosts),
    "twinstack:app": JSON.stringify({ name: "shop", image: "ghcr.io/example/shop:v1.0.0" }),
    "twinstack:proxy": JSON.stringify({ acmeEmail: "ops@example.com" }),
    ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [`twinstack:${k}`, JSON.stringify(v)])),
  });
  const provisioned = { name: "web", sshUser: "deploy", provision: { provider: "hcloud", type: "cpx21", location: "fsn1" } };

  it("runs the env on a provisioned host (standalone: no swarm steps), its docker endpoint waiting for cloud-init", async () => {
    const result = await planProgram(runStack, { stack: "prod", config: config([provisioned], { provisioning: { adminCidr: "198.51.100.0/24" } }) });
    const server = one(result.resources, SERVER);
    const provider = one(result.resources, "pulumi:providers:docker");
    expect(provider.props.host).toBe(`ssh://deploy@${server.state.ipv4Address}`);
    const ready = one(commandsNamed(result.resources, "host-web-ready"), COMMAND);
    expect(provider.dependencies).toContain(ready.urn);
    expect(byType(result.resources, COMMAND).filter((c) => c.name.includes("swarm"))).toEqual([]);
    expect(result.outputs.hostAddresses).toEqual({ web: server.state.ipv4Address });
    expect(result.outputs.deployPrivateKey).toBeInstanceOf(SecretValue);
  });

  it("falls back to runners.adminCidr, and otherwise names the missing key", async () => {
    const withRunners = await planProgram(runStack, {
      stack: "prod",
      config: { ...config([provisioned], { runners: { adminCidr: "203.0.113.0/24" } }) },
    });
    expect((one(withRunners.resources, "hcloud:index/firewall:Firewall").props.rules as any[])[0].sourceIps).toEqual(["203.0.113.0/24"]);
    await expect(planProgram(runStack, { stack: "prod", config: config([provisioned]) })).rejects.toThrow(/twinstack:provisioning\.adminCidr: required key is missing/);
    await expect(
      planProgram(runStack, { stack: "prod", config: config([{ ...provisioned, sshUser: "root" }], { provisioning: { adminCidr: "198.51.100.0/24" } }) }),
    ).rejects.toThrow(/twinstack:hosts\[0\]\.sshUser: a provisioned host logs in as a non-root admin user/);
  });

  // Field failures, kind 5: the documented two-host prod on provisioned hosts must work with the defaults.
  it("logs in as deploy by default and forms a two-host hcloud Swarm over a private network in the hosts' zone", async () => {
    const two = [0, 1].map((i) => ({ name: `web${i}`, provision: { provider: "hcloud", type: "cpx21", location: "ash" } }));
    const result = await planProgram(runStack, { stack: "prod", config: { ...config(two, { provisioning: { adminCidr: "198.51.100.0/24" } }), "twinstack:runtime": "swarm" } });
    const servers = byType(result.resources, SERVER);
    for (const server of servers) expect(YAML.parse(String(server.props.userData)).users[0].name).toBe("deploy");
    expect(one(result.resources, "hcloud:index/networkSubnet:NetworkSubnet").props).toMatchObject({ networkZone: "us-east", ipRange: "10.0.1.0/24" });
    expect(servers.map((s) => (s.props.networks as any[])[0].ip)).toEqual(["10.0.1.11", "10.0.1.12"]);
    // The join advertises the private address and reaches the manager on it.
    const join = one(commandsNamed(result.resources, "swarm-join-web1"), COMMAND);
    expect(String(join.props.create)).toContain("advertise_addr='10.0.1.12'\nmanager='10.0.1.11:2377'\n");
  });

  it("refuses combinations that cannot work, naming the key, before declaring anything", async () => {
    const two = (location2: string) => [
      { name: "a", provision: { provider: "hcloud", type: "cpx21", location: "fsn1" } },
      { name: "b", provision: { provider: "hcloud", type: "cpx21", location: location2 } },
    ];
    const swarm = (hosts: object[], provisioning: object) => ({
      ...config(hosts, { provisioning: { adminCidr: "198.51.100.0/24", ...provisioning } }),
      "twinstack:runtime": "swarm",
    });
    await expect(planProgram(runStack, { stack: "prod", config: swarm(two("nbg1"), { privateNetwork: { enabled: false } }) })).rejects.toThrow(
      /twinstack:provisioning\.privateNetwork\.enabled: 2 hcloud hosts form a Swarm, but their firewall only admits/,
    );
    await expect(planProgram(runStack, { stack: "prod", config: swarm(two("ash"), {}) })).rejects.toThrow(/cannot share a private network/);
    await expect(planProgram(runStack, { stack: "prod", config: swarm(two("nbg1"), { privateNetwork: { zone: "us-east" } }) })).rejects.toThrow(
      /twinstack:provisioning\.privateNetwork\.zone: "us-east" is not the zone of the hosts' location \(eu-central\)/,
    );
  });

  it("keeps stacks without provisioned hosts exactly as before (no hosts step)", async () => {
    const result = await planProgram(runStack, { stack: "prod", config: config([{ name: "a", docker: "ssh://deploy@10.0.0.5", address: "10.0.0.5" }]) });
    expect(byType(result.resources, "twinstack:index:DockerHosts")).toEqual([]);
    expect(one(result.resources, "pulumi:providers:docker").props.host).toBe("ssh://deploy@10.0.0.5");
  });
});
