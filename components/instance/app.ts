// The app and its workers: image (digest-resolved outside prod), generated secrets, the env-var
// contract (model/appContract.ts), the health probe, the release phase, then the app
// replicas and the workers, all health-gated.
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import { appEnvironment } from "../appContract";
import { isGeneratedEnvVar } from "../appEnv";
import { BACKUP_SCRIPT_PATH, BackupJob } from "../backupJob";
import { HEALTH_PROBE, httpProbeTest } from "../images";
import { ReleaseTask } from "../releaseTask";
import { PostgresDatabase } from "../postgresDatabase";
import { WorkloadSpec } from "../workload";
import { InvariantError } from "../render/invariant";
import { InstanceContext } from "./context";
import { InstanceRedis } from "./redis";

/**
 * What the app builder takes from the builders before it: the env's database (its URL becomes
 * DATABASE_URL), the extra networks to reach it, Redis (REDIS_URL and key prefix) and prod's backup job.
 */
export interface InstanceAppDeps {
  database: PostgresDatabase;
  dbNetworks: string[];
  redis?: InstanceRedis;
  /** Prod's release phase takes a backup with it first. */
  backupJob?: BackupJob;
}

/**
 * Children: `${name}-session-secret`, `${name}-jwt-secret` (random.RandomPassword), `${name}-app-image`
 * (docker.RemoteImage), `${name}-app-data` and `${name}-probe` volumes, `${name}-probe` (seeder),
 * `${name}-release` (ReleaseTask), `${name}-app` or `${name}-app-<i>`, `${name}-worker-<worker>`.
 * Returns the app image's repo digest.
 * @throws InvariantError when app env sets a generated variable (config validation refuses it first).
 */
export function declareApp(ctx: InstanceContext, deps: InstanceAppDeps): { appImageDigest: pulumi.Output<string> } {
  const { name, prefix, args, runtime, parent, provider } = ctx;
  const { database, dbNetworks, redis, backupJob } = deps;
  const sessionSecret = new random.RandomPassword(`${name}-session-secret`, { length: 48, special: false }, { parent });
  // A mutable tag (:main, :dev-latest) is pulled once unless pullTriggers change: non-prod stacks
  // resolve the tag to its registry digest at every deploy (docker.getRegistryImage, the pattern of
  // https://www.pulumi.com/registry/packages/docker/api-docs/getregistryimage/ and .../remoteimage/),
  // or take app.pullTrigger from CI. Prod pins digests or release tags (policy prod-images-immutable).
  const pullTriggers = args.env === "prod" ? undefined : [args.app.pullTrigger ?? registryDigest(args.app.image, provider, parent)];
  const image = new docker.RemoteImage(`${name}-app-image`, { name: args.app.image, keepLocally: true, pullTriggers }, { parent, provider });
  // Invariant (config validation rejects them first): generated variables are never overridden.
  const overridden = [...Object.keys(args.app.env), ...Object.keys(args.app.secretEnv)].filter(isGeneratedEnvVar);
  if (overridden.length) throw new InvariantError(`InstanceStack ${name}: app env cannot set the generated ${overridden.join(", ")}`);
  // Swarm resolves a tag when a service is updated, and Pulumi updates it only when its spec changes:
  // a non-prod service runs <image>@<resolved digest>, so a new push is a new spec.
  const swarmImage = pullTriggers && !args.app.pullTrigger ? pulumi.interpolate`${args.app.image.split("@")[0]}@${pullTriggers[0]}` : args.app.image;
  // Separate secrets: a token signer and the cookie signer rotate independently (model/appContract.ts).
  const jwtSecret = new random.RandomPassword(`${name}-jwt-secret`, { length: 48, special: false }, { parent });
  const appEnv = pulumi.all([database.connectionString, sessionSecret.result, jwtSecret.result, pulumi.all(args.app.secretEnv)]).apply(([dbUrl, session, jwt, secretEnv]) =>
    appEnvironment({
      env: args.env,
      port: args.app.port,
      version: args.app.version,
      redis: redis ? { url: redis.url, prefix: redis.prefix } : undefined,
      features: args.app.features,
      dataPath: args.app.dataPath,
      env_: args.app.env,
      databaseUrl: dbUrl,
      sessionSecret: session,
      jwtSecret: jwt,
      secretEnv,
    }),
  );
  const secretAppEnv = pulumi.secret(appEnv);
  const appData = args.app.dataPath ? ctx.volume("app-data") : undefined;
  // The app's health check must work whatever the image holds (node:*-slim and distroless have no
  // shell, wget or curl): by default a static busybox from a probe volume does the GET; an image
  // that can check itself may name its own exec-form command instead (app.healthCheck.command).
  let probe: { volumeName: pulumi.Input<string>; seeder: pulumi.Resource } | undefined;
  if (!args.app.healthCheckCommand) {
    const probeVolume = `${prefix}-probe`;
    // Swarm creates the volume on each node with the seeder's task; standalone declares it (protected in prod like every volume).
    const seederVolume = runtime === "swarm" ? pulumi.output(probeVolume) : ctx.volume("probe").name;
    const seeder = ctx.put("probe", {
      name: `${prefix}-probe`,
      role: "probe",
      image: args.app.healthProbeImage ?? HEALTH_PROBE.image,
      // Copy the static binary into the volume, then idle: the volume stays filled on every node.
      command: ["/bin/sh", "-c", `cp /bin/busybox /probe/busybox.new && mv -f /probe/busybox.new /probe/busybox && exec sleep 2147483647`],
      volumes: [{ volumeName: seederVolume, path: "/probe" }],
      limits: ctx.limitsOf({ cpus: 0.05, memoryMb: 16 }),
      healthcheck: { test: ["CMD", "test", "-x", "/probe/busybox"], intervalSeconds: 5, startPeriodSeconds: 5 },
      // Swarm: one task per node, so wherever an app task lands the volume is filled there.
      global: runtime === "swarm",
      constraints: [],
    });
    probe = { volumeName: seederVolume, seeder };
  }
  const appHealth = {
    test: args.app.healthCheckCommand ? ["CMD", ...args.app.healthCheckCommand] : httpProbeTest(args.app.port, args.app.healthPath),
    startPeriodSeconds: 30,
  };
  const appSpec = (suffix: string, replicas: number): WorkloadSpec => ({
    name: `${prefix}-app${suffix}`,
    role: "app",
    image: runtime === "swarm" ? swarmImage : image.imageId,
    command: args.app.command,
    env: secretAppEnv,
    network: ctx.onNet(["app"]),
    extraNetworks: dbNetworks,
    ports: args.app.publishPort ? [{ internal: args.app.port, external: args.app.publishPort }] : undefined,
    volumes: [
      ...(appData ? [{ volumeName: appData.name, path: args.app.dataPath as string }] : []),
      ...(probe ? [{ volumeName: probe.volumeName, path: HEALTH_PROBE.mountPath, readOnly: true }] : []),
    ],
    // Only the app's own data pins it to the main host; the probe volume exists on every node.
    constraints: runtime === "swarm" && appData ? ctx.pinToMainHost : [],
    limits: ctx.limitsOf(args.app.limits),
    healthcheck: appHealth,
    replicas,
    gated: true,
  });
  const appDeps: pulumi.Resource[] = [database, ...(probe ? [probe.seeder] : [])];
  // ---- release phase: once per release, before the new version is declared ----
  if (args.app.release) {
    const release = new ReleaseTask(
      `${name}-release`,
      {
        dockerHost: args.hosts[0].docker,
        namePrefix: prefix,
        image: runtime === "swarm" ? args.app.image : image.imageId,
        command: args.app.release.command,
        version: args.app.version,
        env: secretAppEnv,
        networkName: ctx.networkName,
        extraNetworks: dbNetworks,
        limits: ctx.limitsOf(args.app.limits),
        labels: ctx.commonLabels,
        backup: backupJob && args.env === "prod" ? { containerName: backupJob.containerName, scriptPath: BACKUP_SCRIPT_PATH, dependsOn: [backupJob] } : undefined,
        dependsOn: [database],
      },
      { parent },
    );
    appDeps.push(release.task);
  }
  if (runtime === "swarm" || args.app.replicas === 1) ctx.put("app", appSpec("", args.app.replicas), { dependsOn: appDeps });
  else for (let i = 0; i < args.app.replicas; i++) ctx.put(`app-${i}`, appSpec(`-${i}`, 1), { dependsOn: appDeps });
  for (const worker of args.app.workers) {
    ctx.put(
      `worker-${worker.name}`,
      {
        name: `${prefix}-worker-${worker.name}`,
        role: "worker",
        image: runtime === "swarm" ? swarmImage : image.imageId,
        command: worker.command,
        env: secretAppEnv,
        network: ctx.onNet([`worker-${worker.name}`]),
        extraNetworks: dbNetworks,
        limits: ctx.limitsOf(worker.limits),
        replicas: worker.replicas,
        gated: true,
      },
      { dependsOn: appDeps },
    );
  }
  return { appImageDigest: image.repoDigest };
}

/** The registry's current sha256 digest of an image reference (tag resolved at deploy time). */
export function registryDigest(image: string, provider: docker.Provider | undefined, parent: pulumi.Resource): pulumi.Output<string> {
  return docker.getRegistryImageOutput({ name: image }, { provider, parent }).sha256Digest;
}
