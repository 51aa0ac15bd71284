// The release phase of an app (Heroku's release phase, Kamal's pre-deploy hook): a command such as
// `alembic upgrade head` run once per release in a one-shot container of the app image with the
// app's environment, before the new version is declared. Callers make the app depend on this
// component, so a failed release command fails `pulumi up` before the new version exists and the
// old one keeps serving. With `backupContainer` (prod with backups), one verified backup by the
// env's BackupJob is taken first (Makapix deploy-to-prod: backup, migrate, switch, verify health).
//
// Why a command.local.Command running the Docker CLI and not a docker.Container: "A command is
// considered to have failed when it finished with a non-zero exit code. This will fail the CRUD
// step of the `Command` resource" (node_modules/@pulumi/command/local/command.d.ts), which is
// exactly "stop the release". A
// docker.Container with `mustRun: false` and `attach: true` waits for the exit ("If `true` attach
// to the container after its creation and waits the end of its execution"), but the exit status is
// only reported in the `exitCode` output ("The exit code of the container if its execution is
// done (`mustRun` must be disabled)") without failing the resource: node_modules/@pulumi/docker/container.d.ts.
// One Command per env also means exactly once per release on Swarm (on the main manager, in a
// standalone container on the env's attachable overlay network), never once per replica.
//
// Once per release: the `triggers` are the release key (image, version, command); a change of any
// replaces the Command, i.e. runs it again. An unchanged key and environment give the engine no
// diff, so a `pulumi up` that changes only e.g. replicas does not re-run it. A changed environment
// runs it again too (no `update` command: "if empty, create will run again").
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { renderPreReleaseBackupScript, renderReleaseScript } from "./render/release";
import { InvariantError } from "./render/invariant";
import { LABELS } from "../model/labels";

/** Arguments of {@link ReleaseTask}. */
export interface ReleaseTaskArgs {
  /** Docker endpoint of the host to run on (the env's main host / first Swarm manager). */
  dockerHost: pulumi.Input<string>;
  /** Physical name prefix carrying the env token, e.g. makapix-prod; the container is `<prefix>-release`. */
  namePrefix: string;
  /** The app image as the app workload uses it (image id on a standalone host, reference in a swarm). */
  image: pulumi.Input<string>;
  /** The release command, e.g. ["alembic", "upgrade", "head"]. Must not be empty. */
  command: string[];
  /** The app version (APP_VERSION) when set; part of the release key. */
  version?: string;
  /** The app's environment as KEY=VALUE entries; passed by name through the CLI's environment (stays secret). */
  env: pulumi.Input<string[]>;
  /** The env network the one-shot container joins (an attachable overlay on Swarm). */
  networkName: pulumi.Input<string>;
  /** Further networks it joins, e.g. a shared database server's (`postgres.network`). @default [] */
  extraNetworks?: string[];
  /** CPU and memory limits of the one-shot container (non-prod). */
  limits?: { cpus: number; memoryMb: number };
  /** Labels of the env's workloads (env, stack, host); the role label `release` is added. @default {} */
  labels?: Record<string, string>;
  /** Take one verified backup in this running backup container first (prod with backups). */
  backup?: { containerName: pulumi.Input<string>; scriptPath: string; dependsOn: pulumi.Resource[] };
  /** What must exist before the release command runs (the database). */
  dependsOn?: pulumi.Resource[];
}

function envRecord(entries: string[]): Record<string, string> {
  return Object.fromEntries(entries.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
}

/**
 * The release phase: `command` run once per release (image, version or command changed) in a
 * one-shot container `<namePrefix>-release` of the app image with the app's env, through the Docker
 * CLI on `dockerHost`, before the new version is declared; a non-zero exit fails `pulumi up` and the
 * old version keeps serving (@pulumi/command: "A command is considered to have failed when it
 * finished with a non-zero exit code", node_modules/@pulumi/command/local/command.d.ts). Type token
 * `twinstack:index:ReleaseTask`. Children: `${name}-backup` (with `backup`) and `${name}-run` (command.local.Command).
 * @throws InvariantError when `command` is empty.
 * @example
 * const release = new ReleaseTask("prod-release", {
 *   dockerHost: "ssh://deploy@203.0.113.10", namePrefix: "makapix-prod", image: appImage.imageId,
 *   command: ["alembic", "upgrade", "head"], version: "1.4.0", env: appEnv, networkName,
 *   dependsOn: [database],
 * }, { parent: this });
 * new docker.Container("prod-app", { ... }, { parent: this, dependsOn: [release.task] });
 */
export class ReleaseTask extends pulumi.ComponentResource {
  /** The release Command: depend on it to declare the new version after the release succeeded. */
  readonly task: command.local.Command;
  readonly backup?: command.local.Command;
  readonly containerName: string;

  constructor(name: string, args: ReleaseTaskArgs, opts?: pulumi.ComponentResourceOptions) {
    super("twinstack:index:ReleaseTask", name, {}, opts);
    if (args.command.length === 0 || args.command[0] === "") throw new InvariantError(`ReleaseTask ${name}: the release command must not be empty`);
    this.containerName = `${args.namePrefix}-release`;

    if (args.backup) {
      const b = args.backup;
      this.backup = new command.local.Command(
        `${name}-backup`,
        {
          create: pulumi.output(b.containerName).apply((c) => renderPreReleaseBackupScript(c, b.scriptPath)),
          environment: { DOCKER_HOST: args.dockerHost },
          // A backup per release, keyed like the release itself.
          triggers: [args.image, args.version ?? "", JSON.stringify(args.command)],
        },
        { parent: this, dependsOn: [...b.dependsOn, ...(args.dependsOn ?? [])] },
      );
    }

    const env = pulumi.output(args.env).apply(envRecord);
    // The names are not secret (the values are): the script stays readable in the diff.
    const envNames = pulumi.unsecret(env.apply((record) => Object.keys(record)));
    const script = pulumi.all([args.image, args.networkName, envNames]).apply(([image, network, names]) =>
      renderReleaseScript({
        containerName: this.containerName,
        image,
        network,
        extraNetworks: args.extraNetworks,
        envNames: names,
        command: args.command,
        labels: { ...(args.labels ?? {}), [LABELS.role]: "release" },
        limits: args.limits,
      }),
    );
    this.task = new command.local.Command(
      `${name}-run`,
      {
        create: script,
        // The values reach `docker create -e NAME` from here; secret in state like the app's env.
        environment: pulumi.secret(pulumi.all([env, args.dockerHost]).apply(([record, dockerHost]) => ({ ...record, DOCKER_HOST: dockerHost }))),
        triggers: [args.image, args.version ?? "", JSON.stringify(args.command)],
      },
      { parent: this, dependsOn: [...(this.backup ? [this.backup] : []), ...(args.dependsOn ?? [])] },
    );

    this.registerOutputs({ containerName: this.containerName });
  }
}
