import { portRange } from "../../policy/firewall";
import { cleanupProjects, devProdProject, of, resource, run } from "./helpers";

const POLICY = "no-public-data-ports";
afterAll(cleanupProjects);

describe("no-public-data-ports (rule 8)", () => {
  const doFw = (rules: unknown[]) => resource("prod", "digitalocean:index/firewall:Firewall", "fw", { name: "gigi-prod-fw", inboundRules: rules });
  const hcFw = (rules: unknown[]) => resource("prod", "hcloud:index/firewall:Firewall", "hfw", { name: "gigi-prod-hfw", rules });

  it("passes SSH from an admin range and data ports from a private range", () => {
    const dir = devProdProject();
    const v = run(
      [
        doFw([
          { protocol: "tcp", portRange: "22", sourceAddresses: ["203.0.113.0/24"] },
          { protocol: "tcp", portRange: "5432", sourceAddresses: ["10.0.0.0/8"] },
          { protocol: "tcp", portRange: "443", sourceAddresses: ["0.0.0.0/0", "::/0"] },
        ]),
        hcFw([
          { direction: "out", protocol: "tcp", port: "any", destinationIps: ["0.0.0.0/0"] },
          { direction: "in", protocol: "tcp", port: "8883", sourceIps: ["0.0.0.0/0"] },
        ]),
      ],
      { stack: "prod", dir },
    );
    expect(of(v, POLICY)).toEqual([]);
  });

  it("flags Postgres opened to 0.0.0.0/0, Redis to ::/0 and a range covering plain MQTT", () => {
    const dir = devProdProject();
    const v = of(
      run(
        [
          doFw([{ protocol: "tcp", portRange: "5432", sourceAddresses: ["0.0.0.0/0"] }]),
          hcFw([
            { direction: "in", protocol: "tcp", port: "6379", sourceIps: ["::/0"] },
            { direction: "in", protocol: "tcp", port: "1000-2000", sourceIps: ["0.0.0.0/0"] },
          ]),
        ],
        { stack: "prod", dir },
      ),
      POLICY,
    );
    expect(v.map((x) => x.message)).toEqual([
      'firewall "gigi-prod-fw" opens Postgres (port 5432/tcp) to 0.0.0.0/0: restrict sourceAddresses to the hosts that need it (an admin or app CIDR) or drop the rule',
      'firewall "gigi-prod-hfw" opens Redis (port 6379/tcp) to ::/0: restrict sourceIps to the hosts that need it (an admin or app CIDR) or drop the rule',
      'firewall "gigi-prod-hfw" opens plain MQTT (ports 1000-2000 (incl. 1883)/tcp) to 0.0.0.0/0: restrict sourceIps to the hosts that need it (an admin or app CIDR) or drop the rule',
    ]);
  });

  it("reads port specs", () => {
    expect(portRange("all")).toEqual([1, 65535]);
    expect(portRange("any")).toEqual([1, 65535]);
    expect(portRange("5000-6000")).toEqual([5000, 6000]);
    expect(portRange("22")).toEqual([22, 22]);
  });
});
