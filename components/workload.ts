// One place that turns a workload description into a standalone container or a Swarm service, so
// labels, limits, health checks and rollback are applied the same way to every service of a stack.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { InvariantError } from "./render/invariant";
import { LABELS } from "../model/labels";

/** How an env runs its workloads: "standalone" Docker containers on one host, or "swarm" services. */
export type Runtime = "standalone" | "swarm";

/**
 * CPU and memory limits: `cpus` in CPUs (fractions allowed, e.g. 0.5) and `memoryMb` in MiB. A
 * container gets `cpus` and `memory` (MB); a Swarm service `nanoCpus` (cpus x 1e9) and `memoryBytes`
 * (memoryMb x 1024 x 1024).
 */
export interface WorkloadLimits {
  cpus: number;
  memoryMb: number;
}

/**
 * A file put into the workload at `path`: a container upload (standalone) or a Swarm config (a Swarm
 * secret when `secret`); executable when `executable` (Swarm: mode 0755, else 0444).
 */
export interface WorkloadFile {
  path: string;
  content: pulumi.Input<string>;
  executable?: boolean;
  /** Private keys and the like: a Swarm secret (encrypted, in-memory in the task) instead of a config. */
  secret?: boolean;
  /** Owner of the file in the task (Swarm configs/secrets default to 0:0), for images that drop root before reading it. */
  owner?: { uid: number; gid: number };
  /**
   * Octal permissions, e.g. "0600" for a file that holds a password. Standalone: the upload's
   * `permissions`; Swarm: the config's or secret's file mode. Absent: `executable` decides
   * (standalone: the provider's default; Swarm: 0755/0444, secrets 0400).
   */
  mode?: string;
}

/**
 * A duration: seconds as a number (written "Ns"), or a Docker/Go duration string such as "5m" or
 * "1h", written as given (https://pkg.go.dev/time#ParseDuration).
 */
export type Duration = number | string;

/** A named volume mounted at `path`. */
export interface WorkloadVolume {
  volumeName: pulumi.Input<string>;
  path: string;
  readOnly?: boolean;
}

/**
 * What a workload is, whatever the runtime: name, role label, image, command, env, networks, ports,
 * volumes, binds, files, limits, health check (seconds; @default interval 10 s, timeout 5 s, 5 retries,
 * start period 20 s), replicas (@default 1) and placement.
 */
export interface WorkloadSpec {
  /** Physical name (carries the env token). Standalone health-gated workloads leave the container unnamed. */
  name: pulumi.Input<string>;
  /** Value of the role label (LABELS.role). Absent: no role label (a workload found by its other labels). */
  role?: string;
  image: pulumi.Input<string>;
  /**
   * Replaces the image's ENTRYPOINT (standalone: `entrypoints`; Swarm: ContainerSpec.Command, what
   * `docker service create --entrypoint` sets). Absent: the image's own entrypoint runs `command`.
   */
  entrypoint?: pulumi.Input<pulumi.Input<string>[]>;
  command?: pulumi.Input<string>[];
  env?: pulumi.Input<pulumi.Input<string>[]>;
  /** Network name and the aliases other services find this one by. */
  network?: { name: pulumi.Input<string>; aliases?: string[] };
  /** Extra networks (e.g. an existing databases network). */
  extraNetworks?: pulumi.Input<string>[];
  /**
   * Published ports. `ip` binds the host port to one address (standalone only: a Swarm service has no
   * address field, its published ports bind every address of every node through the ingress
   * routing mesh — https://docs.docker.com/engine/swarm/ingress/ — so a Swarm workload with an `ip`
   * is an invariant error; run such a workload as per-node standalone containers instead).
   */
  ports?: { internal: number; external: number; ip?: string; protocol?: "tcp" | "udp" }[];
  /**
   * How a port's unset `ip` and `protocol` are written. "explicit" (default): as "0.0.0.0" and "tcp";
   * "provider": left out, so the Docker provider applies the same defaults itself (standalone only;
   * a Swarm port always names its protocol).
   */
  portDefaults?: "explicit" | "provider";
  /** Named volumes; also an Output of the list when it is only known at deployment. */
  volumes?: pulumi.Input<WorkloadVolume[]>;
  binds?: { hostPath: string; path: string; readOnly?: boolean }[];
  files?: WorkloadFile[];
  limits?: WorkloadLimits;
  /**
   * The health check. Defaults: interval 10 s, timeout 5 s, 5 retries, start period 20 s. A
   * standalone container with a health check is waited for (see `waitHealthy`).
   */
  healthcheck?: {
    test: pulumi.Input<pulumi.Input<string>[]>;
    intervalSeconds?: Duration;
    timeoutSeconds?: Duration;
    retries?: number;
    startPeriodSeconds?: Duration;
  };
  /**
   * Standalone: `pulumi up` waits (up to 180 s) for the health check to pass and fails otherwise.
   * @default true when there is a health check. false: the container is created and left to
   * become healthy (e.g. a job whose first run takes longer than any deployment should wait).
   * Swarm: ignored (the update config's monitor does this).
   */
  waitHealthy?: boolean;
  /** Standalone: the provider starts the container again if it finds it stopped (`mustRun`). Swarm: ignored. */
  mustRun?: boolean;
  /**
   * Seconds the main process has between SIGTERM and SIGKILL when the workload is replaced or
   * removed. @default GATED_STOP_GRACE_SECONDS for gated workloads, else Docker's own (10 s).
   */
  stopGraceSeconds?: number;
  replicas?: number;
  /** Swarm: one task on every node (global mode) instead of `replicas`. Standalone: ignored. */
  global?: boolean;
  /** The user the main process runs as ("uid:gid" or a name), overriding the image's USER. */
  user?: string;
  /** Health-gated replacement: standalone creates the new container first and waits for healthy. */
  gated?: boolean;
  hostNetwork?: boolean;
  capabilities?: string[];
  /** Extra labels; the role label is added from `role`. */
  labels?: Record<string, pulumi.Input<string>>;
  /**
   * Order of the label list. "sorted" (default): by label name. "given": the insertion order of
   * `labels`, the role label at its place there (its value must then be `role`) or else last.
   */
  labelOrder?: "sorted" | "given";
  /** Swarm placement constraints, e.g. node.hostname==node1. */
  constraints?: string[];
}

/**
 * Where a workload is declared: the runtime, the Docker provider (the host, or the Swarm manager), the
 * parent component, and resource options (protect, dependsOn, ignoreChanges).
 */
export interface WorkloadContext {
  runtime: Runtime;
  provider: pulumi.ProviderResource;
  parent: pulumi.Resource;
  protect?: boolean;
  dependsOn?: pulumi.CustomResourceOptions["dependsOn"];
  /** Inputs the engine ignores once the resource exists (e.g. a proxy's uploads, changed in place by a reload instead). */
  ignoreChanges?: string[];
}

const seconds = (n: Duration) => (typeof n === "number" ? `${n}s` : n);

/** Seconds a gated standalone container (app, workers) has to finish its requests when it is replaced or removed. */
export const GATED_STOP_GRACE_SECONDS = 30;

function labelList(spec: WorkloadSpec) {
  const role = spec.role === undefined ? {} : { [LABELS.role]: spec.role };
  if (spec.labelOrder === "given") {
    const given = spec.labels?.[LABELS.role];
    if (given !== undefined && given !== spec.role) {
      throw new InvariantError(`workload ${typeof spec.name === "string" ? spec.name : `with role ${spec.role}`}: labels.${LABELS.role} must equal role when given`);
    }
    return Object.entries({ ...(spec.labels ?? {}), ...role }).map(([label, value]) => ({ label, value }));
  }
  return Object.entries({ ...role, ...(spec.labels ?? {}) })
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, value]) => ({ label, value }));
}

/** Maps a list that may be an Output; a plain list stays plain, so its unknown elements stay per element. */
function mapList<T, U>(list: pulumi.Input<T[]> | undefined, fn: (item: T) => U): U[] | pulumi.Output<U[]> {
  if (list === undefined) return [];
  if (Array.isArray(list)) return list.map(fn);
  return pulumi.output(list as pulumi.Input<T[]>).apply((items) => (items as T[]).map(fn)) as pulumi.Output<U[]>;
}

/** Concatenates lists of which some may be Outputs (all plain: a plain list). */
function concatLists<U>(...lists: (U[] | pulumi.Output<U[]>)[]): U[] | pulumi.Output<U[]> {
  if (lists.every((l) => Array.isArray(l))) return (lists as U[][]).flat();
  return pulumi.all(lists as pulumi.Output<U[]>[]).apply((ls) => (ls as U[][]).flat()) as pulumi.Output<U[]>;
}

/**
 * Declares the workload: a docker.Container (standalone) or a docker.Service (swarm) named
 * `logicalName`, labelled with its role (when it has one); returns the resource so callers can depend on it.
 * @throws InvariantError when a Swarm workload publishes a port on one address (`ports[].ip`).
 */
export function declareWorkload(logicalName: string, spec: WorkloadSpec, ctx: WorkloadContext): docker.Container | docker.Service {
  const labels = labelList(spec);
  const resourceOpts: pulumi.CustomResourceOptions = {
    parent: ctx.parent,
    provider: ctx.provider,
    protect: ctx.protect,
    dependsOn: ctx.dependsOn,
    ignoreChanges: ctx.ignoreChanges,
  };
  const health = spec.healthcheck && {
    tests: spec.healthcheck.test,
    interval: seconds(spec.healthcheck.intervalSeconds ?? 10),
    timeout: seconds(spec.healthcheck.timeoutSeconds ?? 5),
    retries: spec.healthcheck.retries ?? 5,
    startPeriod: seconds(spec.healthcheck.startPeriodSeconds ?? 20),
  };

  if (ctx.runtime === "swarm") {
    const bound = (spec.ports ?? []).filter((p) => p.ip !== undefined);
    if (bound.length) {
      throw new InvariantError(
        `workload ${typeof spec.name === "string" ? spec.name : logicalName}: a Swarm service cannot publish a port on one address (${bound.map((p) => `${p.ip}:${p.external}`).join(", ")}); ` +
          "its ports bind every address of every node (ingress): publish without an address, or run it as per-node standalone containers",
      );
    }
    // Swarm has no file uploads: files become service configs (secrets for secret files), named by
    // content so a change rolls the service instead of failing on an in-use object.
    const contentName = (content: pulumi.Input<string>) =>
      pulumi.all([spec.name, content]).apply(([n, c]) => `${n}-${crypto.createHash("sha256").update(c).digest("hex").slice(0, 10)}`);
    const fileOpts = { parent: ctx.parent, provider: ctx.provider, deleteBeforeReplace: false };
    const configs: docker.types.input.ServiceTaskSpecContainerSpecConfig[] = [];
    const secrets: docker.types.input.ServiceTaskSpecContainerSpecSecret[] = [];
    (spec.files ?? []).forEach((file, i) => {
      const data = pulumi.output(file.content).apply((content) => Buffer.from(content).toString("base64"));
      if (file.secret) {
        const secret = new docker.Secret(`${logicalName}-secret-${i}`, { name: pulumi.unsecret(contentName(file.content)), data: pulumi.secret(data) }, fileOpts);
        secrets.push({
          secretId: secret.id,
          secretName: secret.name,
          fileName: file.path,
          fileMode: file.mode !== undefined ? parseInt(file.mode, 8) : 0o400,
          ...(file.owner ? { fileUid: String(file.owner.uid), fileGid: String(file.owner.gid) } : {}),
        });
      } else {
        const config = new docker.ServiceConfig(`${logicalName}-config-${i}`, { name: contentName(file.content), data }, fileOpts);
        configs.push({
          configId: config.id,
          configName: config.name,
          fileName: file.path,
          fileMode: file.mode !== undefined ? parseInt(file.mode, 8) : file.executable ? 0o755 : 0o444,
          ...(file.owner ? { fileUid: String(file.owner.uid), fileGid: String(file.owner.gid) } : {}),
        });
      }
    });
    return new docker.Service(
      logicalName,
      {
        name: spec.name,
        labels,
        taskSpec: {
          containerSpec: {
            image: spec.image,
            // spec.command is the container's CMD (docker.Container `command`). A service's `commands`
            // is ContainerSpec.Command, which replaces the image's ENTRYPOINT; `args` is what the CLI's
            // `docker service create IMAGE COMMAND ARG...` sets (docker/cli cli/command/service/opts.go:
            // Command from --entrypoint, Args from the positional arguments), so the image's
            // entrypoint (e.g. redis's step-down and defaults) still runs. Found by the e2e lab: Redis
            // started without its entrypoint and refused the app (protected mode).
            args: spec.command,
            commands: spec.entrypoint,
            user: spec.user,
            env: pulumi.output(spec.env ?? []).apply((list) => Object.fromEntries(list.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]))),
            labels,
            healthcheck: health,
            mounts: concatLists<docker.types.input.ServiceTaskSpecContainerSpecMount>(
              mapList(spec.volumes, (v) => ({ type: "volume", source: v.volumeName, target: v.path, readOnly: v.readOnly })),
              (spec.binds ?? []).map((b) => ({ type: "bind", source: b.hostPath, target: b.path, readOnly: b.readOnly })),
            ),
            stopGracePeriod: spec.stopGraceSeconds !== undefined ? seconds(spec.stopGraceSeconds) : undefined,
            configs,
            secrets,
            capAdds: spec.capabilities,
          },
          resources: spec.limits && {
            limits: { nanoCpus: Math.round(spec.limits.cpus * 1e9), memoryBytes: Math.round(spec.limits.memoryMb * 1024 * 1024) },
          },
          networksAdvanceds: [...(spec.network ? [{ name: spec.network.name, aliases: spec.network.aliases }] : []), ...(spec.extraNetworks ?? []).map((name) => ({ name }))],
          placement: spec.constraints?.length ? { constraints: spec.constraints } : undefined,
          restartPolicy: { condition: "any", delay: "5s" },
        },
        mode: spec.global ? { global: true } : { replicated: { replicas: spec.replicas ?? 1 } },
        // A new version starts next to the old one and must pass its health check; a failure rolls back.
        updateConfig: { parallelism: 1, order: "start-first", failureAction: "rollback", monitor: "30s", delay: "5s" },
        rollbackConfig: { parallelism: 1, order: "stop-first", failureAction: "pause", monitor: "30s" },
        // A service that publishes nothing is reached by its name on the env's network only: DNS
        // round-robin (endpoint_mode dnsrr) answers with the running tasks' own addresses, where the
        // default VIP mode needs IPVS in every client container's namespace (a kernel without the
        // ip_vs module, as on the e2e lab, leaves the VIP unanswered) and keeps stale IPVS entries
        // for a moment during rolling updates. Clients dial the name at each new connection and Go's
        // dialer (Caddy) tries every address it gets in turn (https://pkg.go.dev/net#Dial: "the
        // host resolves to multiple IP addresses, Dial will try each IP address in order until one
        // succeeds"). Docker refuses dnsrr with ingress-published ports
        // (https://docs.docker.com/engine/swarm/networking/#configure-service-discovery), so those keep VIP.
        endpointSpec: spec.ports?.length
          ? { ports: spec.ports.map((p) => ({ targetPort: p.internal, publishedPort: p.external, protocol: p.protocol ?? "tcp", publishMode: "ingress" })) }
          : { mode: "dnsrr" },
        convergeConfig: { delay: "5s", timeout: "5m" },
      },
      // Updates roll in place (start-first); only a rename replaces, and a name cannot exist twice.
      { ...resourceOpts, deleteBeforeReplace: true },
    );
  }

  return new docker.Container(
    logicalName,
    {
      // Unnamed when gated: Pulumi can then create the replacement before deleting the old container.
      name: spec.gated ? undefined : spec.name,
      image: spec.image,
      entrypoints: spec.entrypoint,
      command: spec.command,
      user: spec.user,
      envs: spec.env,
      labels,
      restart: "unless-stopped",
      networkMode: spec.hostNetwork ? "host" : undefined,
      networksAdvanced: spec.hostNetwork
        ? undefined
        : [...(spec.network ? [{ name: spec.network.name, aliases: spec.network.aliases }] : []), ...(spec.extraNetworks ?? []).map((name) => ({ name }))],
      ports: spec.ports?.map((p) =>
        spec.portDefaults === "provider"
          ? { internal: p.internal, external: p.external, ip: p.ip, protocol: p.protocol }
          : { internal: p.internal, external: p.external, ip: p.ip ?? "0.0.0.0", protocol: p.protocol ?? "tcp" },
      ),
      volumes: concatLists<docker.types.input.ContainerVolume>(
        mapList(spec.volumes, (v) => ({ volumeName: v.volumeName, containerPath: v.path, readOnly: v.readOnly })),
        (spec.binds ?? []).map((b) => ({ hostPath: b.hostPath, containerPath: b.path, readOnly: b.readOnly })),
      ),
      uploads: spec.files?.map((f) => ({ file: f.path, content: f.content, executable: f.executable, permissions: f.mode })),
      capabilities: spec.capabilities?.length ? { adds: spec.capabilities } : undefined,
      cpus: spec.limits ? String(spec.limits.cpus) : undefined,
      memory: spec.limits ? Math.round(spec.limits.memoryMb) : undefined,
      healthcheck: health,
      // Health gate: `pulumi up` fails on an unhealthy new container and the old one keeps serving.
      wait: spec.healthcheck && spec.waitHealthy !== false ? true : undefined,
      waitTimeout: spec.healthcheck && spec.waitHealthy !== false ? 180 : undefined,
      mustRun: spec.mustRun,
      // Drain the old version of a gated workload when its replacement took over: the provider
      // stops a container with this grace (SIGTERM, SIGKILL after it) before it force-removes it;
      // without it, the force-remove kills requests in flight (kreuzwerker/terraform-provider-docker
      // internal/provider/resource_docker_container_funcs.go, resourceDockerContainerDelete). Found
      // by the e2e release under load (tests/e2e/release-phase.e2e.test.ts). 30 s: longer than
      // `docker stop`'s own default of 10 s, for long requests; an app that exits once idle takes less.
      destroyGraceSeconds: spec.stopGraceSeconds ?? (spec.gated ? GATED_STOP_GRACE_SECONDS : undefined),
    },
    // A named container cannot exist twice: its replacement must go after it. The gated ones are unnamed.
    { ...resourceOpts, deleteBeforeReplace: !spec.gated },
  );
}
