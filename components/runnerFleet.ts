// N ephemeral Forgejo/Gitea Actions runner machines on DigitalOcean or Hetzner Cloud.
// Each machine boots a golden snapshot (docker + runner baked in) or a base image that
// cloud-init turns into a runner; cloud-init registers it with the forge. Machines are tagged
// `ephemeral` and with the env, carry no reserved/floating IP and no volume, and sit behind a
// firewall that lets in nothing but SSH from the admin range. count 0 declares nothing at all
// (zero cost): no machine, no firewall, no tag.
import * as digitalocean from "@pulumi/digitalocean";
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { renderRunnerCloudInit } from "./render/cloudInit";
import { InvariantError } from "./render/invariant";
import { EPHEMERAL_TAG } from "../model/labels";
import { runnerMachineName } from "../model/names";

/** Arguments of {@link RunnerFleet}. */
export interface RunnerFleetArgs {
  /** Physical name prefix carrying the env token, e.g. "gigi-dev-runner"; machines are `<namePrefix>-<i>`. */
  namePrefix: string;
  /** The environment token ("dev", "prod", ...): a tag (DO) or label (hcloud) on every machine. */
  env: string;
  /** The cloud the machines are created on (DigitalOcean droplets or Hetzner Cloud servers). */
  provider: "digitalocean" | "hcloud";
  /** Number of machines; 0 declares none. */
  count: number;
  /** DigitalOcean size slug or Hetzner server type. */
  size: string;
  /** DigitalOcean region or Hetzner location. */
  region: string;
  /** Golden snapshot id/name, or a base image (slug/name). */
  image: string;
  /** true: the image already has Docker and the runner binary; cloud-init only registers. */
  golden: boolean;
  /**
   * Which runner is installed and how it registers: forgejo-runner (`one-job` in a loop) or Gitea's
   * act_runner (`register --ephemeral` before every job); see components/render/runnerCloudInit.ts.
   */
  forge: "forgejo" | "gitea";
  /** Base URL of the forge the runners register with, http(s) without credentials, e.g. "https://git.example.com". */
  forgeUrl: string;
  /** Runner registration token. Secret: it only ever reaches the machines inside secret user data. */
  registrationToken: pulumi.Input<string>;
  /** Runner labels the forge's jobs select by (`runs-on`), e.g. ["docker"]. */
  labels: string[];
  /** Runner release to install without a golden image, no leading "v": e.g. "6.3.1" (forgejo-runner) or "0.2.11" (act_runner). */
  runnerVersion: string;
  /** The only source range allowed to SSH in (never the whole internet). */
  adminCidr: string;
  /** DigitalOcean SSH key fingerprints/ids, or Hetzner SSH key names/ids. */
  sshKeys: string[];
}

// EPHEMERAL_TAG (model/labels.ts): the tag (DO) / label (hcloud) every runner machine carries; the pack looks for it.
export { EPHEMERAL_TAG };

const NAME_RE = /^[a-z][a-z0-9-]*[a-z0-9]$/;
const CIDR_RE = /^(?:\d{1,3}(?:\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/;
const WORLD = ["0.0.0.0/0", "::/0"];

/**
 * An ephemeral CI runner fleet: `count` machines `<namePrefix>-<i>` tagged {@link EPHEMERAL_TAG}, with
 * no reserved IP and no volume, SSH open only to `adminCidr`, registered with the forge by cloud-init
 * (the token stays inside secret user data). Scaling `count` to 0 leaves nothing running or billed.
 * Type token `twinstack:index:RunnerFleet`. Children: DigitalOcean `${name}-tag`, droplets and
 * firewall, or Hetzner firewall and servers.
 * @throws InvariantError when `count` is not a whole number >= 0, the provider is unknown, `namePrefix`
 * lacks the env token or is not a hostname, a machine name exceeds 63 characters, `adminCidr` is not a
 * CIDR or is /0, or size, region or image is missing (only `count` 0 skips the machine checks).
 * @example
 * new RunnerFleet("runners", {
 *   namePrefix: "gigi-dev-runner", env: "dev", provider: "digitalocean", count: 2, size: "s-2vcpu-4gb",
 *   region: "nyc3", image: "ubuntu-24-04-x64", golden: false, forge: "forgejo", forgeUrl: "https://git.example.com",
 *   registrationToken: config.requireSecret("runnerRegistrationToken"), labels: ["docker"], runnerVersion: "6.3.1",
 *   adminCidr: "203.0.113.0/24", sshKeys: [],
 * });
 */
export class RunnerFleet extends pulumi.ComponentResource {
  /** Physical machine names, `<namePrefix>-<i>`; empty for count 0. */
  public readonly machineNames: pulumi.Output<string[]>;
  /** Public IPv4 addresses of the machines; empty for count 0. */
  public readonly addresses: pulumi.Output<string[]>;

  constructor(name: string, args: RunnerFleetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("twinstack:index:RunnerFleet", name, {}, opts);
    validate(name, args);

    const names: string[] = [];
    const addresses: pulumi.Output<string>[] = [];

    if (args.count > 0) {
      const machineName = (i: number) => runnerMachineName(args.namePrefix, i);
      // One user data per machine: the runner name is inside. The token is inside too, so the
      // whole document is a secret (it is also ForceNew: a new token replaces the machines).
      const userData = (i: number) =>
        pulumi.secret(
          pulumi.output(args.registrationToken).apply((registrationToken) =>
            renderRunnerCloudInit({
              forge: args.forge,
              forgeUrl: args.forgeUrl,
              registrationToken,
              runnerName: machineName(i),
              labels: args.labels,
              runnerVersion: args.runnerVersion,
              // A golden image has Docker and the runner binary baked in.
              installDocker: !args.golden,
              ephemeral: true,
            }),
          ),
        );

      if (args.provider === "digitalocean") {
        // `ephemeral` and the env stay plain tag names (DO creates them on first use): a declared
        // digitalocean.Tag is account-wide, and destroying it with this fleet would strip it from
        // every other stack's droplets. The fleet's own tag is declared here and binds the firewall.
        const fleetTag = new digitalocean.Tag(`${name}-tag`, { name: args.namePrefix }, { parent: this });
        for (let i = 0; i < args.count; i++) {
          const droplet = new digitalocean.Droplet(
            `${name}-${i}`,
            {
              name: machineName(i),
              image: args.image,
              size: args.size,
              region: args.region,
              sshKeys: args.sshKeys,
              tags: [EPHEMERAL_TAG, args.env, fleetTag.name],
              userData: userData(i),
              backups: false,
              monitoring: false,
            },
            { parent: this },
          );
          names.push(machineName(i));
          addresses.push(droplet.ipv4Address);
        }
        new digitalocean.Firewall(
          `${name}-firewall`,
          {
            name: `${args.namePrefix}-ssh`,
            tags: [fleetTag.name],
            inboundRules: [{ protocol: "tcp", portRange: "22", sourceAddresses: [args.adminCidr] }],
            // Runners must reach the forge, registries and package mirrors.
            outboundRules: [
              { protocol: "tcp", portRange: "1-65535", destinationAddresses: WORLD },
              { protocol: "udp", portRange: "1-65535", destinationAddresses: WORLD },
              { protocol: "icmp", destinationAddresses: WORLD },
            ],
          },
          { parent: this },
        );
      } else {
        const labels = { [EPHEMERAL_TAG]: "true", env: args.env };
        const firewall = new hcloud.Firewall(
          `${name}-firewall`,
          {
            name: `${args.namePrefix}-ssh`,
            labels,
            rules: [
              { direction: "in", protocol: "tcp", port: "22", sourceIps: [args.adminCidr], description: "SSH from the admin range" },
              // Outbound rules make hcloud deny everything else outbound: allow it all, explicitly.
              { direction: "out", protocol: "tcp", port: "any", destinationIps: WORLD },
              { direction: "out", protocol: "udp", port: "any", destinationIps: WORLD },
              { direction: "out", protocol: "icmp", destinationIps: WORLD },
            ],
          },
          { parent: this },
        );
        // hcloud ids are numeric strings; firewallIds wants numbers.
        const firewallId = firewall.id.apply((id) => Number(id));
        for (let i = 0; i < args.count; i++) {
          const server = new hcloud.Server(
            `${name}-${i}`,
            {
              name: machineName(i),
              image: args.image,
              serverType: args.size,
              location: args.region,
              sshKeys: args.sshKeys,
              labels,
              userData: userData(i),
              firewallIds: [firewallId],
              // The primary public IPv4 reaches the forge; no floating IP, no volume.
              publicNets: [{ ipv4Enabled: true, ipv6Enabled: true }],
              backups: false,
            },
            { parent: this },
          );
          names.push(machineName(i));
          addresses.push(server.ipv4Address);
        }
      }
    }

    this.machineNames = pulumi.output(names);
    this.addresses = addresses.length ? pulumi.all(addresses) : pulumi.output([] as string[]);
    this.registerOutputs({ machineNames: this.machineNames, addresses: this.addresses });
  }
}

function validate(name: string, args: RunnerFleetArgs): void {
  const fail = (message: string): never => {
    throw new InvariantError(`RunnerFleet ${name}: ${message}`);
  };
  if (!Number.isInteger(args.count) || args.count < 0) fail(`count must be a whole number >= 0, got ${args.count}`);
  if (args.provider !== "digitalocean" && args.provider !== "hcloud") fail(`provider must be "digitalocean" or "hcloud", got ${JSON.stringify(args.provider)}`);
  if (!args.env || !args.namePrefix.split("-").includes(args.env)) {
    fail(`namePrefix ${JSON.stringify(args.namePrefix)} must carry the env token ${JSON.stringify(args.env)}`);
  }
  if (args.count === 0) return;
  // Machine names are hostnames and runner names: no '_' (an app name may have one).
  if (!NAME_RE.test(args.namePrefix)) fail(`namePrefix must be lower-case letters, digits and '-' (a hostname), got ${JSON.stringify(args.namePrefix)}`);
  const longest = runnerMachineName(args.namePrefix, args.count - 1);
  if (longest.length > 63) fail(`machine name ${JSON.stringify(longest)} is longer than 63 characters`);
  if (!CIDR_RE.test(args.adminCidr ?? "")) fail(`adminCidr must be a CIDR such as 203.0.113.0/24, got ${JSON.stringify(args.adminCidr)}`);
  if (/\/0$/.test(args.adminCidr)) fail(`adminCidr ${args.adminCidr} would open SSH to the whole internet`);
  if (!args.size || !args.region || !args.image) fail("size, region and image are required");
}
