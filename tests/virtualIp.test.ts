// VirtualIp under the shared mocks harness: keepalived containers per node, hcloud floating IP
// and DigitalOcean reserved IP with assignment; secrets and prod protection.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HOST_PROC_NET_IPV4, HOST_SYSCTL_DIR, KEEPALIVED_ARGS, KEEPALIVED_CONF_PATH, KEEPALIVED_ENTRYPOINT, VirtualIp, VirtualIpArgs } from "../components/virtualIp";
import { proxyTrackCommand } from "../components/render/keepalived";
import { byType, one, planProgram, PlannedResource, SecretValue, plainStrings } from "./harness";

const T = {
  password: "random:index/randomPassword:RandomPassword",
  container: "docker:index/container:Container",
  dockerProvider: "pulumi:providers:docker",
  floatingIp: "hcloud:index/floatingIp:FloatingIp",
  floatingIpAssignment: "hcloud:index/floatingIpAssignment:FloatingIpAssignment",
  reservedIp: "digitalocean:index/reservedIp:ReservedIp",
  reservedIpAssignment: "digitalocean:index/reservedIpAssignment:ReservedIpAssignment",
};

const NODES = [
  { name: "node1", address: "192.168.1.11", priority: 150 },
  { name: "node2", address: "192.168.1.12", priority: 140 },
  { name: "node3", address: "192.168.1.13", priority: 130 },
];

function keepalivedArgs(env: string, virtualIp: string, virtualRouterId: number, extra: Partial<NonNullable<VirtualIpArgs["keepalived"]>> = {}): VirtualIpArgs {
  return {
    mode: "keepalived",
    namePrefix: `gigi-${env}`,
    protect: env === "prod",
    keepalived: {
      virtualIp,
      interface: "eth0",
      virtualRouterId,
      image: "osixia/keepalived:2.0.20",
      proxyPort: 443,
      nodes: NODES.map((n) => ({ ...n, dockerProvider: new docker.Provider(`${env}-${n.name}`, { host: `ssh://deploy@${n.address}` }) })),
      ...extra,
    },
  };
}

function cloudArgs(mode: "hcloud" | "digitalocean", env: string): VirtualIpArgs {
  return {
    mode,
    namePrefix: `gigi-${env}`,
    protect: env === "prod",
    cloud: { location: mode === "hcloud" ? "fsn1" : "nyc3", assignTo: pulumi.output("4242") },
  };
}

async function plan(stack: string, args: () => VirtualIpArgs) {
  return planProgram(
    () => {
      const vip = new VirtualIp(`gigi-${stack}-vip`, args());
      return { address: vip.address, routerId: vip.routerId };
    },
    { stack, config: {} },
  );
}

function uploadedConf(c: PlannedResource): string {
  const uploads = c.props.uploads as { file: string; content: string }[];
  const conf = uploads.find((u) => u.file === KEEPALIVED_CONF_PATH);
  if (!conf) throw new Error(`${c.name}: no ${KEEPALIVED_CONF_PATH} upload`);
  return conf.content;
}

function labels(c: PlannedResource): Record<string, string> {
  return Object.fromEntries((c.props.labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));
}

describe("VirtualIp, keepalived mode", () => {
  it("declares one host-network container per node, on that node's docker provider, with the VRRP capabilities", async () => {
    const { resources, outputs } = await plan("dev", () => keepalivedArgs("dev", "192.168.1.52", 52));
    const containers = byType(resources, T.container);
    expect(containers.map((c) => c.props.name).sort()).toEqual(["gigi-dev-keepalived-node1", "gigi-dev-keepalived-node2", "gigi-dev-keepalived-node3"]);
    for (const node of NODES) {
      const c = one(resources, T.container, `-keepalived-${node.name}`);
      expect(c.props.networkMode).toBe("host");
      expect([...(c.props.capabilities as { adds: string[] }).adds].sort()).toEqual(["NET_ADMIN", "NET_BROADCAST", "NET_RAW"]);
      expect(c.props.restart).toBe("unless-stopped");
      expect(c.props.image).toBe("osixia/keepalived:2.0.20");
      // A shell step allows non-local binds (the env's proxy binds the VIP on every node), then execs keepalived.
      expect(c.props.entrypoints).toEqual(KEEPALIVED_ENTRYPOINT);
      expect((c.props.entrypoints as string[])[2]).toContain("\nproc_net_ipv4='/host/proc/sys/net/ipv4'\n");
      expect((c.props.entrypoints as string[])[2]).toContain('echo 1 > "$proc_net_ipv4/ip_nonlocal_bind"');
      expect((c.props.entrypoints as string[])[2]).toMatch(/exec keepalived "\$@"$/);
      // The lab found it: the daemon refuses `systempaths=unconfined` (a docker CLI-only option), so
      // the keepalived container could not be created; the host's net.ipv4 sysctls are mounted instead.
      expect(c.props.securityOpts).toBeUndefined();
      expect(c.props.privileged).toBeUndefined();
      expect(c.props.volumes).toEqual([
        { hostPath: "/etc/sysctl.d", containerPath: HOST_SYSCTL_DIR },
        { hostPath: "/proc/sys/net/ipv4", containerPath: HOST_PROC_NET_IPV4 },
      ]);
      expect(c.props.command).toEqual(KEEPALIVED_ARGS);
      expect(c.props.command).toContain("--dont-fork");
      expect(c.opts.deleteBeforeReplace).toBe(true);
      const provider = one(resources, T.dockerProvider, `dev-${node.name}`);
      expect(c.provider).toContain(provider.urn);
    }
    expect(outputs).toEqual({ address: "192.168.1.52", routerId: 52 });
    expect(byType(resources, T.floatingIp)).toHaveLength(0);
    expect(byType(resources, T.reservedIp)).toHaveLength(0);
  });

  it("makes the first node MASTER and the others BACKUP, peering with each other", async () => {
    const { resources } = await plan("dev", () => keepalivedArgs("dev", "192.168.1.52", 52));
    const confs = NODES.map((n) => uploadedConf(one(resources, T.container, `-keepalived-${n.name}`)));
    expect(confs[0]).toMatch(/^\s+state MASTER$/m);
    expect(confs[1]).toMatch(/^\s+state BACKUP$/m);
    expect(confs[2]).toMatch(/^\s+state BACKUP$/m);
    NODES.forEach((n, i) => {
      expect(confs[i]).toMatch(new RegExp(`^\\s+priority ${n.priority}$`, "m"));
      expect(confs[i]).toMatch(new RegExp(`^\\s+unicast_src_ip ${n.address.replace(/\./g, "\\.")}$`, "m"));
      for (const peer of NODES.filter((p) => p !== n)) expect(confs[i]).toContain(`        ${peer.address}\n`);
    });
    for (const conf of confs) {
      expect(conf).toContain("vrrp_instance gigi-dev {");
      expect(conf).toMatch(/^\s+virtual_router_id 52$/m);
      expect(conf).toMatch(/^\s+interface eth0$/m);
      expect(conf).toContain("        192.168.1.52\n");
      // The VIP follows a healthy proxy.
      expect(conf).toContain(`script "${proxyTrackCommand(443)}"`);
      expect(conf).toMatch(/track_script \{\s+proxy_alive\s+\}/);
    }
  });

  it("checks the proxy every second and needs two failures (the lab's failover measurement; PROXY_TRACK)", async () => {
    const { resources } = await plan("dev", () => keepalivedArgs("dev", "192.168.1.52", 52));
    for (const n of NODES) {
      const conf = uploadedConf(one(resources, T.container, `-keepalived-${n.name}`));
      const script = /vrrp_script proxy_alive \{\n([^}]*)\}/
        .exec(conf)?.[1]
        .trim()
        .split("\n")
        .map((l) => l.trim());
      // interval 2 with fall 2 (the renderer's defaults) left a stopped proxy 3.8 s in MASTER in the lab.
      expect(script?.slice(1)).toEqual(["interval 1", "timeout 5", "fall 2", "rise 2"]);
    }
  });

  it("uses one 8-character auth pass for all nodes, only ever inside secrets", async () => {
    const { resources } = await plan("dev", () => keepalivedArgs("dev", "192.168.1.52", 52));
    const pw = one(resources, T.password);
    expect(pw.props.length).toBe(8);
    const pass = String(pw.state.result);
    expect(pass).toHaveLength(8);
    for (const c of byType(resources, T.container)) {
      expect(uploadedConf(c)).toMatch(new RegExp(`^\\s+auth_pass ${pass}$`, "m"));
      const uploads = c.inputs.uploads as Record<string, unknown>[];
      expect(uploads[0].content).toBeInstanceOf(SecretValue);
      expect(uploads[0].permissions).toBe("0600");
    }
    for (const r of resources) {
      for (const s of plainStrings(r.inputs)) expect(s).not.toContain(pass);
    }
  });

  it("labels containers with the VIP and router id, and prod and dev differ when given different ids", async () => {
    const dev = await plan("dev", () => keepalivedArgs("dev", "192.168.1.52", 52));
    const prod = await plan("prod", () => keepalivedArgs("prod", "192.168.1.51", 51));
    for (const c of byType(dev.resources, T.container)) {
      expect(labels(c)).toMatchObject({ "twinstack.role": "keepalived", "twinstack.vip": "192.168.1.52", "twinstack.vrrp-router-id": "52" });
      expect(uploadedConf(c)).toMatch(/^\s+virtual_router_id 52$/m);
    }
    for (const c of byType(prod.resources, T.container)) {
      expect(labels(c)).toMatchObject({ "twinstack.role": "keepalived", "twinstack.vip": "192.168.1.51", "twinstack.vrrp-router-id": "51" });
      expect(uploadedConf(c)).toMatch(/^\s+virtual_router_id 51$/m);
      expect(String(c.props.name)).toMatch(/^gigi-prod-keepalived-/);
    }
    expect(prod.outputs.routerId).not.toBe(dev.outputs.routerId);
  });

  it("takes a prefixed VIP, exposing and labelling the bare address", async () => {
    const { resources, outputs } = await plan("dev", () => keepalivedArgs("dev", "192.168.1.52/24", 52));
    expect(outputs.address).toBe("192.168.1.52");
    const c = one(resources, T.container, "-keepalived-node1");
    expect(labels(c)["twinstack.vip"]).toBe("192.168.1.52");
    expect(uploadedConf(c)).toContain("        192.168.1.52/24\n");
  });

  it("applies limits when given and none otherwise", async () => {
    const limited = await plan("dev", () => keepalivedArgs("dev", "192.168.1.52", 52, { limits: { cpus: 0.1, memoryMb: 32 } }));
    for (const c of byType(limited.resources, T.container)) expect(c.props).toMatchObject({ memory: 32, cpus: "0.1" });
    const unlimited = await plan("dev", () => keepalivedArgs("dev", "192.168.1.52", 52));
    for (const c of byType(unlimited.resources, T.container)) expect(c.props.memory).toBeUndefined();
  });

  it("rejects bad configs at construction, naming the problem", async () => {
    const attempt = (args: VirtualIpArgs) => planProgram(() => new VirtualIp("v", args), { stack: "dev", config: {} });
    await expect(attempt(keepalivedArgs("dev", "192.168.1.52", 300))).rejects.toThrow(/virtualRouterId/);
    await expect(attempt(keepalivedArgs("dev", "not-an-ip", 52))).rejects.toThrow(/virtualIp/);
    const reversed = keepalivedArgs("dev", "192.168.1.52", 52);
    reversed.keepalived!.nodes.reverse();
    await expect(attempt(reversed)).rejects.toThrow(/highest priority first/);
    await expect(attempt({ ...keepalivedArgs("dev", "192.168.1.52", 52), keepalived: undefined })).rejects.toThrow(/needs args.keepalived/);
    await expect(attempt({ ...keepalivedArgs("dev", "192.168.1.52", 52), namePrefix: "Gigi Dev" })).rejects.toThrow(/namePrefix/);
  });
});

describe("VirtualIp, cloud modes", () => {
  it("hcloud: a floating IP in the home location assigned to the server, no containers", async () => {
    const { resources, outputs } = await plan("dev", () => cloudArgs("hcloud", "dev"));
    const ip = one(resources, T.floatingIp);
    expect(ip.props).toMatchObject({ type: "ipv4", homeLocation: "fsn1", name: "gigi-dev-vip" });
    const assignment = one(resources, T.floatingIpAssignment);
    expect(assignment.props.serverId).toBe(4242);
    expect(assignment.dependencies).toContain(ip.urn);
    expect(byType(resources, T.container)).toHaveLength(0);
    expect(byType(resources, T.password)).toHaveLength(0);
    expect(outputs.address).toBe(ip.state.ipAddress);
    expect(outputs.routerId).toBeUndefined();
  });

  it("digitalocean: a reserved IP in the region assigned to the droplet, no containers", async () => {
    const { resources, outputs } = await plan("dev", () => cloudArgs("digitalocean", "dev"));
    const ip = one(resources, T.reservedIp);
    expect(ip.props.region).toBe("nyc3");
    const assignment = one(resources, T.reservedIpAssignment);
    expect(assignment.props).toMatchObject({ dropletId: 4242, ipAddress: ip.state.ipAddress });
    expect(byType(resources, T.container)).toHaveLength(0);
    expect(outputs.address).toBe(ip.state.ipAddress);
  });

  it.each(["hcloud", "digitalocean"] as const)("%s: prod protects the IP, dev does not", async (mode) => {
    const ipType = mode === "hcloud" ? T.floatingIp : T.reservedIp;
    const prod = await plan("prod", () => cloudArgs(mode, "prod"));
    const dev = await plan("dev", () => cloudArgs(mode, "dev"));
    expect(one(prod.resources, ipType).opts.protect).toBe(true);
    expect(one(dev.resources, ipType).opts.protect).toBe(false);
    if (mode === "hcloud") {
      expect(one(prod.resources, ipType).props.deleteProtection).toBe(true);
      expect(one(dev.resources, ipType).props.deleteProtection).toBe(false);
    }
  });

  it("needs a location", async () => {
    const args = cloudArgs("hcloud", "dev");
    await expect(planProgram(() => new VirtualIp("v", { ...args, cloud: { ...args.cloud!, location: "" } }), { stack: "dev", config: {} })).rejects.toThrow(/location/);
  });
});

describe("VirtualIp, hcloud mode with failover (keepalived moves the floating IP)", () => {
  const failoverArgs = (
    nodes = [
      { name: "ash-1", privateAddress: "10.0.1.11", serverId: pulumi.output("1001"), priority: 150 },
      { name: "ash-2", privateAddress: "10.0.1.12", serverId: pulumi.output("1002"), priority: 140 },
    ],
  ): VirtualIpArgs => ({
    mode: "hcloud",
    namePrefix: "shop-prod",
    protect: true,
    cloud: {
      location: "ash",
      assignTo: pulumi.output("1001"),
      failover: {
        image: "osixia/keepalived:2.0.20",
        virtualRouterId: 51,
        apiToken: pulumi.secret("hcloud-token-value-never-plain"),
        trackPort: 443,
        nodes: nodes.map((n) => ({ ...n, dockerProvider: new docker.Provider(`p-${n.name}`, { host: `ssh://deploy@${n.privateAddress}` }) })),
      },
    },
  });

  it("declares a keepalived container per node with the notify script for its own server and the token as a secret upload", async () => {
    const { resources, outputs } = await plan("prod", failoverArgs);
    const containers = byType(resources, T.container);
    expect(containers.map((c) => c.props.name)).toEqual(["shop-prod-keepalived-ash-1", "shop-prod-keepalived-ash-2"]);
    containers.forEach((c, i) => {
      const uploads = c.props.uploads as { file: string; content: string; permissions: string }[];
      expect(uploads.map((u) => [u.file, u.permissions])).toEqual([
        ["/etc/keepalived/twinstack.conf", "0600"],
        ["/etc/keepalived/twinstack-notify-master.sh", "0700"],
        ["/etc/keepalived/twinstack-api-token", "0600"],
      ]);
      expect(uploads[1].content).toContain(`body='{"server":${1001 + i}}'`);
      const inputUploads = c.inputs.uploads as { content: unknown }[];
      expect(inputUploads[0].content).toBeInstanceOf(SecretValue);
      expect(inputUploads[2].content).toBeInstanceOf(SecretValue);
      for (const s of plainStrings(c.inputs)) expect(s).not.toContain("hcloud-token-value-never-plain");
      expect(c.props.command).toEqual(["--dont-fork", "--log-console", "--vrrp", "--use-file", "/etc/keepalived/twinstack-runtime.conf"]);
    });
    expect(one(resources, T.floatingIpAssignment, "-assignment").opts.ignoreChanges).toEqual(["serverId"]);
    expect(outputs.routerId).toBe(51);
  });

  it("refuses failover nodes out of priority order", async () => {
    const nodes = [
      { name: "ash-1", privateAddress: "10.0.1.11", serverId: pulumi.output("1001"), priority: 140 },
      { name: "ash-2", privateAddress: "10.0.1.12", serverId: pulumi.output("1002"), priority: 150 },
    ];
    await expect(plan("prod", () => failoverArgs(nodes))).rejects.toThrow(/highest priority first/);
  });

  it("without failover the assignment stays managed by Pulumi (no ignoreChanges) and no container is declared", async () => {
    const { resources } = await plan("dev", () => cloudArgs("hcloud", "dev"));
    expect(byType(resources, T.container)).toHaveLength(0);
    expect(one(resources, T.floatingIpAssignment, "-assignment").opts.ignoreChanges ?? []).toEqual([]);
  });
});
