// Shell scripts of the release phase (components/releaseTask.ts). Pure: no Pulumi imports.
//
// They run on the machine running `pulumi up` (command.local.Command, `/bin/sh -c`) with
// DOCKER_HOST pointing at the env's main Docker host (the first Swarm manager in a swarm).
//
// Release: one container of the app image with the app's environment runs the release command to
// completion; the script exits non-zero when the command does, which fails the Command resource
// and so the `pulumi up` before the new app version is declared. Steps, all documented Docker CLI:
//   docker create --name --network -e NAME ...   (`-e NAME` without a value copies NAME from the
//                                                 CLI's own environment, so secrets never appear
//                                                 in the command line: docs.docker.com/reference/cli/docker/container/run/#env)
//   docker network connect <extra>               (a container is created on one network)
//   docker start; docker wait                    (`docker wait` prints the exit code:
//                                                 docs.docker.com/reference/cli/docker/container/wait/)
//   docker logs; docker rm -f                    (output into the Pulumi log; nothing is left behind)
// The container name is fixed per env, so a leftover of an interrupted run is removed first.
//
// Pre-release backup: `docker exec <backup container> <backup script>`: one verified dump by the
// env's BackupJob (scripts/backup.sh, same retention), whose exit status is the script's.
import { RenderInvariantError } from "./invariant";
import { renderShScript, shQuote } from "./scriptFile";

/** Input of {@link renderReleaseScript}: the one-shot container of the release phase. */
export interface ReleaseScriptArgs {
  /** Physical container name (carries the env token), e.g. makapix-prod-release. */
  containerName: string;
  /** Image reference or image id on the host. */
  image: string;
  /** The env network (an attachable overlay network in a swarm). */
  network: string;
  /** Further networks to connect (e.g. an existing databases network). */
  extraNetworks?: string[];
  /** Names of the environment variables to pass from the script's own environment. */
  envNames: string[];
  /** The release command, e.g. ["alembic", "upgrade", "head"]. */
  command: string[];
  /** Docker labels of the container (`--label k=v`, sorted). @default {} */
  labels?: Record<string, string>;
  /** Limits of the container: `cpus` in CPUs (`--cpus`), `memoryMb` in MiB (`--memory <n>m`); absent: unlimited. */
  limits?: { cpus: number; memoryMb: number };
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const ENV_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Single-quotes a word for POSIX sh. */
export const shellQuote = shQuote;

/** The release script. Throws on a name Docker would reject or an empty command. */
export function renderReleaseScript(a: ReleaseScriptArgs): string {
  if (!NAME_RE.test(a.containerName)) throw new RenderInvariantError(`release: invalid container name ${JSON.stringify(a.containerName)}`);
  if (!a.network) throw new RenderInvariantError("release: a network is required");
  if (!a.image) throw new RenderInvariantError("release: an image is required");
  if (a.command.length === 0 || a.command[0] === "") throw new RenderInvariantError("release: the command must not be empty");
  for (const name of a.envNames) if (!ENV_RE.test(name)) throw new RenderInvariantError(`release: invalid environment variable name ${JSON.stringify(name)}`);

  for (const n of a.extraNetworks ?? []) if (!NAME_RE.test(n)) throw new RenderInvariantError(`release: invalid network name ${JSON.stringify(n)}`);

  // Body: scripts/release.sh (docs/ARCHITECTURE.md, "Shell scripts"). labels, limits and command
  // are lists of words, each single-quoted here; the script evals them into its arguments.
  const words = (list: string[]) => list.map(shellQuote).join(" ");
  const labels = Object.entries(a.labels ?? {})
    .sort(([x], [y]) => x.localeCompare(y))
    .flatMap(([k, v]) => ["--label", `${k}=${v}`]);
  const limits = a.limits ? ["--cpus", String(a.limits.cpus), "--memory", `${Math.round(a.limits.memoryMb)}m`] : [];
  return renderShScript(
    "release.sh",
    [
      "twinstack release phase: run the release command once, fail the deploy when it fails.",
      "shellcheck disable=SC1003,SC2016 # the settings are literal words; release.sh evals the lists",
    ],
    [
      ["name", a.containerName],
      ["network", a.network],
      ["image", a.image],
      ["env_names", [...a.envNames].sort().join(" ")],
      ["extra_networks", (a.extraNetworks ?? []).join(" ")],
      ["labels", words(labels)],
      ["limits", words(limits)],
      ["command", words(a.command)],
    ],
  );
}

/** One verified backup by the env's running backup container, before the release. */
export function renderPreReleaseBackupScript(backupContainer: string, backupScriptPath: string): string {
  if (!NAME_RE.test(backupContainer)) throw new RenderInvariantError(`release: invalid backup container name ${JSON.stringify(backupContainer)}`);
  if (!/^\/[A-Za-z0-9._/-]+$/.test(backupScriptPath)) throw new RenderInvariantError(`release: invalid backup script path ${JSON.stringify(backupScriptPath)}`);
  // Body: scripts/pre-release-backup.sh.
  return renderShScript(
    "pre-release-backup.sh",
    ["twinstack release phase: one verified backup before the release command runs."],
    [
      ["backup_container", backupContainer],
      ["backup_script", backupScriptPath],
    ],
  );
}
