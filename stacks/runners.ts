// Composition of the CI runner fleet from `twinstack:runners`.
import { RunnerFleet } from "../components/runnerFleet";
import { LoadedConfig } from "./config";

/** Ubuntu 24.04, as each provider names it. */
const DEFAULT_RUNNER_IMAGES = { digitalocean: "ubuntu-24-04-x64", hcloud: "ubuntu-24.04" } as const;

/**
 * Always constructs the fleet, also for `count: 0` (then a component with no machines, no
 * firewall, nothing billable). Scaling to zero is then an ordinary update that deletes the
 * machines, the fleet's URN never comes and goes with the count, and callers need no
 * undefined case (`fleet.addresses` is `[]`).
 *
 * @param namePrefix physical name prefix carrying the env token, e.g. "gigi-dev-runner".
 */
export function composeRunners(loaded: LoadedConfig, namePrefix: string): RunnerFleet {
  const c = loaded.config;
  const r = c.runners;
  const enabled = r.count > 0;
  return new RunnerFleet(namePrefix, {
    namePrefix,
    env: c.env,
    provider: r.provider,
    count: r.count,
    size: r.size,
    region: r.region,
    image: r.image ?? DEFAULT_RUNNER_IMAGES[r.provider],
    golden: r.golden,
    forge: r.forge,
    // The config check requires forgeUrl and adminCidr when count > 0; with no machines they are unused.
    forgeUrl: r.forgeUrl ?? "",
    // The token is only a declared (and required) secret when count > 0.
    registrationToken: enabled ? loaded.secret(r.registrationTokenKey) : "",
    labels: r.labels,
    runnerVersion: r.runnerVersion,
    adminCidr: r.adminCidr ?? "",
    sshKeys: r.sshKeys,
  });
}
