import { cleanupProjects, devProdProject, of, resource, run } from "./helpers";

const POLICY = "runners-ephemeral";
afterAll(cleanupProjects);

describe("runners-ephemeral (rule 10)", () => {
  const droplet = (name: string, tags: string[]) => resource("dev", "digitalocean:index/droplet:Droplet", name, { name, tags, image: "ubuntu-24-04-x64" });
  const server = (name: string, labels: Record<string, string>) => resource("dev", "hcloud:index/server:Server", name, { name, labels });

  it("passes ephemeral-tagged runners, and a reserved IP on a provisioned host", () => {
    const dir = devProdProject();
    const host = droplet("gigi-dev-host-web", ["gigi-dev"]);
    const ip = resource("dev", "digitalocean:index/reservedIpAssignment:ReservedIpAssignment", "host-ip", { dropletId: "1" }, { propertyDependencies: { dropletId: [host.urn] } });
    const v = run([droplet("gigi-dev-runner-0", ["ephemeral", "dev"]), server("gigi-dev-runner-1", { ephemeral: "true" }), host, ip], { stack: "dev", dir });
    expect(of(v, POLICY)).toEqual([]);
  });

  it("flags a runner without the ephemeral tag", () => {
    const dir = devProdProject();
    const v = of(run([droplet("gigi-dev-runner-0", ["dev"]), server("gigi-dev-runner-1", { env: "dev" })], { stack: "dev", dir }), POLICY);
    expect(v.map((x) => x.message)).toEqual([
      'runner machine "gigi-dev-runner-0" is not tagged ephemeral: add "ephemeral" to its tags',
      'runner machine "gigi-dev-runner-1" is not tagged ephemeral: add the label ephemeral: "true"',
    ]);
  });

  it("flags a runner with a reserved IP or a volume", () => {
    const dir = devProdProject();
    const runner = droplet("gigi-dev-runner-0", ["ephemeral"]);
    const hRunner = server("gigi-dev-runner-1", { ephemeral: "true" });
    const ip = resource("dev", "digitalocean:index/reservedIp:ReservedIp", "runner-ip", { region: "nyc3", dropletId: "1" }, { propertyDependencies: { dropletId: [runner.urn] } });
    const vol = resource(
      "dev",
      "hcloud:index/volumeAttachment:VolumeAttachment",
      "runner-vol",
      { serverId: 2, volumeId: 3 },
      { propertyDependencies: { serverId: [hRunner.urn] } },
    );
    const v = of(run([runner, hRunner, ip, vol], { stack: "dev", dir }), POLICY);
    expect(v.map((x) => [x.resource, x.message])).toEqual([
      [
        ip.urn,
        'reserved IP "runner-ip" is attached to runner machine "gigi-dev-runner-0": runners are ephemeral and carry no reserved IP; remove it (keep reserved IPs and volumes on provisioned hosts)',
      ],
      [
        vol.urn,
        'volume "runner-vol" is attached to runner machine "gigi-dev-runner-1": runners are ephemeral and carry no volume; remove it (keep reserved IPs and volumes on provisioned hosts)',
      ],
    ]);
  });
});
