import * as pulumi from "@pulumi/pulumi";
import { RunnerFleet, RunnerFleetArgs } from "../components/runnerFleet";
import { byType, one, planProgram, PlannedResource, SecretValue } from "./harness";

const TOKEN = "tok3nPlaintextXYZ987";

function fleetArgs(overrides: Partial<RunnerFleetArgs> = {}): RunnerFleetArgs {
  return {
    namePrefix: "gigi-dev-runner",
    env: "dev",
    provider: "digitalocean",
    count: 3,
    size: "s-2vcpu-4gb",
    region: "nyc3",
    image: "ubuntu-24-04-x64",
    golden: false,
    forge: "forgejo",
    forgeUrl: "https://forge.example.com",
    registrationToken: pulumi.secret(TOKEN),
    labels: ["docker:docker://node:20-bookworm"],
    runnerVersion: "6.3.1",
    adminCidr: "198.51.100.0/24",
    sshKeys: ["aa:bb:cc"],
    ...overrides,
  };
}

async function plan(args: RunnerFleetArgs) {
  return planProgram(
    () => {
      const fleet = new RunnerFleet("runners", args);
      return { machineNames: fleet.machineNames, addresses: fleet.addresses };
    },
    { stack: "dev", config: {} },
  );
}

const DROPLET = "digitalocean:index/droplet:Droplet";
const SERVER = "hcloud:index/server:Server";
const FLOATING = [
  "digitalocean:index/reservedIp:ReservedIp",
  "digitalocean:index/reservedIpAssignment:ReservedIpAssignment",
  "digitalocean:index/floatingIp:FloatingIp",
  "hcloud:index/floatingIp:FloatingIp",
  "hcloud:index/floatingIpAssignment:FloatingIpAssignment",
  "hcloud:index/primaryIp:PrimaryIp",
];
const VOLUMES = [
  "digitalocean:index/volume:Volume",
  "digitalocean:index/volumeAttachment:VolumeAttachment",
  "hcloud:index/volume:Volume",
  "hcloud:index/volumeAttachment:VolumeAttachment",
];

function expectTokenOnlyInSecrets(resources: PlannedResource[], outputs: Record<string, unknown>) {
  // SecretValue serializes as "[secret]", so this is every non-secret input and output.
  for (const r of resources) expect(JSON.stringify(r.inputs)).not.toContain(TOKEN);
  expect(JSON.stringify(outputs)).not.toContain(TOKEN);
}

describe("RunnerFleet on DigitalOcean", () => {
  it("declares count droplets tagged ephemeral + env, an SSH-only firewall, no reserved IP or volume", async () => {
    const { resources, outputs } = await plan(fleetArgs());
    const component = one(resources, "twinstack:index:RunnerFleet");
    const droplets = byType(resources, DROPLET);
    expect(droplets.map((d) => d.inputs.name)).toEqual(["gigi-dev-runner-0", "gigi-dev-runner-1", "gigi-dev-runner-2"]);
    for (const d of droplets) {
      expect(d.parent).toBe(component.urn);
      expect(d.inputs.tags).toEqual(expect.arrayContaining(["ephemeral", "dev", "gigi-dev-runner"]));
      expect(d.inputs.volumeIds ?? []).toEqual([]);
      expect(d.inputs.image).toBe("ubuntu-24-04-x64");
      expect(d.inputs.size).toBe("s-2vcpu-4gb");
      expect(d.inputs.region).toBe("nyc3");
      expect(d.inputs.sshKeys).toEqual(["aa:bb:cc"]);
      expect(d.opts.protect).toBe(false);
    }
    for (const type of [...FLOATING, ...VOLUMES]) expect(byType(resources, type)).toEqual([]);

    const firewall = one(resources, "digitalocean:index/firewall:Firewall");
    expect(firewall.parent).toBe(component.urn);
    expect(firewall.inputs.inboundRules).toEqual([{ protocol: "tcp", portRange: "22", sourceAddresses: ["198.51.100.0/24"] }]);
    expect(firewall.inputs.tags).toEqual(["gigi-dev-runner"]);
    const outbound = firewall.inputs.outboundRules as { protocol: string; destinationAddresses: string[] }[];
    expect(outbound.map((r) => r.protocol).sort()).toEqual(["icmp", "tcp", "udp"]);
    for (const r of outbound) expect(r.destinationAddresses).toEqual(["0.0.0.0/0", "::/0"]);
    // The firewall binds through the fleet's own tag, which is declared (and owned) here.
    expect(one(resources, "digitalocean:index/tag:Tag").inputs.name).toBe("gigi-dev-runner");

    expect(outputs.machineNames).toEqual(["gigi-dev-runner-0", "gigi-dev-runner-1", "gigi-dev-runner-2"]);
    expect(outputs.addresses).toHaveLength(3);
  });

  it("keeps the user data and the token secret", async () => {
    const { resources, outputs } = await plan(fleetArgs());
    for (const d of byType(resources, DROPLET)) {
      expect(d.inputs.userData).toBeInstanceOf(SecretValue);
      expect(String(d.props.userData)).toContain(TOKEN);
      expect(String(d.props.userData)).toMatch(/^#cloud-config\n/);
      expect(String(d.props.userData)).toContain(`${d.inputs.name}`);
    }
    expectTokenOnlyInSecrets(resources, outputs);
  });

  it("keeps the user data secret even when the token arrives as a plain string", async () => {
    const { resources, outputs } = await plan(fleetArgs({ registrationToken: TOKEN }));
    for (const d of byType(resources, DROPLET)) expect(d.inputs.userData).toBeInstanceOf(SecretValue);
    expectTokenOnlyInSecrets(resources, outputs);
  });

  it("does not install Docker or the runner on a golden image", async () => {
    const base = await plan(fleetArgs({ count: 1 }));
    const golden = await plan(fleetArgs({ count: 1, golden: true, image: "123456789" }));
    expect(String(one(base.resources, DROPLET).props.userData)).toContain("docker.io");
    const goldenData = String(one(golden.resources, DROPLET).props.userData);
    expect(goldenData).not.toContain("docker.io");
    expect(goldenData).toContain("readonly INSTALL_RUNNER='false'");
    expect(one(golden.resources, DROPLET).inputs.image).toBe("123456789");
  });
});

describe("RunnerFleet on Hetzner Cloud", () => {
  const hcloudArgs = (overrides: Partial<RunnerFleetArgs> = {}) =>
    fleetArgs({ provider: "hcloud", size: "cx22", region: "fsn1", image: "ubuntu-24.04", sshKeys: ["admin"], ...overrides });

  it("declares count servers labelled ephemeral + env behind an SSH-only firewall, no floating IP or volume", async () => {
    const { resources, outputs } = await plan(hcloudArgs());
    const component = one(resources, "twinstack:index:RunnerFleet");
    const firewall = one(resources, "hcloud:index/firewall:Firewall");
    expect(firewall.parent).toBe(component.urn);
    const rules = firewall.inputs.rules as { direction: string; protocol: string; port?: string; sourceIps?: string[] }[];
    expect(rules.filter((r) => r.direction === "in")).toEqual([
      { direction: "in", protocol: "tcp", port: "22", sourceIps: ["198.51.100.0/24"], description: "SSH from the admin range" },
    ]);
    expect(
      rules
        .filter((r) => r.direction === "out")
        .map((r) => r.protocol)
        .sort(),
    ).toEqual(["icmp", "tcp", "udp"]);

    const servers = byType(resources, SERVER);
    expect(servers.map((s) => s.inputs.name)).toEqual(["gigi-dev-runner-0", "gigi-dev-runner-1", "gigi-dev-runner-2"]);
    for (const s of servers) {
      expect(s.parent).toBe(component.urn);
      expect(s.inputs.labels).toEqual({ ephemeral: "true", env: "dev" });
      expect(s.inputs.serverType).toBe("cx22");
      expect(s.inputs.location).toBe("fsn1");
      expect(s.inputs.publicNets).toEqual([{ ipv4Enabled: true, ipv6Enabled: true }]);
      // Attached through firewallIds: the server's input depends on the firewall.
      expect(s.propertyDependencies.firewallIds).toContain(firewall.urn);
      expect(s.inputs.firewallIds).toHaveLength(1);
      expect(s.inputs.userData).toBeInstanceOf(SecretValue);
      expect(String(s.props.userData)).toContain(TOKEN);
      expect(s.opts.protect).toBe(false);
    }
    for (const type of [...FLOATING, ...VOLUMES]) expect(byType(resources, type)).toEqual([]);
    expect(byType(resources, DROPLET)).toEqual([]);
    expect(outputs.addresses).toHaveLength(3);
    expectTokenOnlyInSecrets(resources, outputs);
  });
});

describe("RunnerFleet with count 0", () => {
  it.each(["digitalocean", "hcloud"] as const)("declares nothing but the component on %s", async (provider) => {
    const { resources, outputs } = await plan(fleetArgs({ provider, count: 0 }));
    expect(resources.map((r) => r.type)).toEqual(["twinstack:index:RunnerFleet"]);
    expect(outputs).toEqual({ machineNames: [], addresses: [] });
  });

  it("needs no admin range or forge details to declare nothing", async () => {
    const { resources } = await plan(fleetArgs({ count: 0, adminCidr: "", forgeUrl: "" }));
    expect(resources).toHaveLength(1);
  });
});

describe("RunnerFleet argument checks", () => {
  const construct = (overrides: Partial<RunnerFleetArgs>) => () =>
    planProgram(
      () => {
        new RunnerFleet("runners", fleetArgs(overrides));
      },
      { stack: "dev", config: {} },
    );

  it("refuses SSH from the whole internet", async () => {
    await expect(construct({ adminCidr: "0.0.0.0/0" })()).rejects.toThrow(/whole internet/);
    await expect(construct({ adminCidr: "::/0" })()).rejects.toThrow(/whole internet/);
  });
  it("refuses a name prefix without the env token", async () => {
    await expect(construct({ namePrefix: "gigi-runner" })()).rejects.toThrow(/env token/);
  });
  it("refuses a name prefix that is no hostname, but only when it names machines", async () => {
    await expect(construct({ namePrefix: "my_app-dev-runner" })()).rejects.toThrow(/hostname/);
    await expect(construct({ namePrefix: "my_app-dev-runner", count: 0 })()).resolves.toBeDefined();
  });
  it("refuses a negative or fractional count", async () => {
    await expect(construct({ count: -1 })()).rejects.toThrow(/count/);
    await expect(construct({ count: 1.5 })()).rejects.toThrow(/count/);
  });
});
