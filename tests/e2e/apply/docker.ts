// The e2e applier's docker handlers: each pulumi-docker resource the program declares, realised on a
// real Docker engine through its HTTP API with dockerode (https://github.com/apocas/dockerode).
//
// Every input is mapped the way the provider maps it. @pulumi/docker 5.x bridges
// kreuzwerker/terraform-provider-docker 3.x (its schema has `memory_reservation`, added in v3.7, and lacks
// `selinux_relabel`, added in v4); the references below are to v3.9.0 of that repository, files under
// internal/provider/ ("kw:<file>"). The Docker Engine API is https://docs.docker.com/reference/api/engine/.
//
// Strict by design: an input (top-level or nested) this module does not realise fails the resource
// with a message naming it, instead of being dropped; the core checks top-level keys against
// `mappedInputs`, `strictKeys` below checks the nested ones.
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Docker from "dockerode";
import * as tar from "tar-stream";
import { FunctionRegistry, ApplyContext, HandlerRegistry, ProviderRef, ResourceHandler } from "./types";

// ---------------------------------------------------------------------------------------------
// Provider: host → client

/** Options of the OpenSSH client the provider's `sshOpts` may carry, as ssh2 settings. */
interface SshSettings {
  keepaliveInterval?: number;
  privateKeyPath?: string;
  port?: number;
  strictHostKeyChecking?: "yes" | "no" | "accept-new";
  knownHostsFile?: string;
}

/** The provider passes list inputs of a provider resource JSON-encoded (provider inputs are strings). */
function listInput(value: unknown, what: string): string[] {
  if (value === undefined || value === null || value === "") return [];
  const list = typeof value === "string" ? JSON.parse(value) : value;
  if (!Array.isArray(list) || list.some((x) => typeof x !== "string")) throw new Error(`${what} must be a list of strings`);
  return list;
}

/**
 * `sshOpts` are extra arguments of the `ssh` command the provider runs for ssh:// hosts (kw:config.go:
 * `connhelper.GetConnectionHelperWithSSHOpts(host, sshOpts)`, i.e. `ssh <opts> user@host docker system
 * dial-stdio`). dockerode talks SSH through ssh2 instead, so each understood OpenSSH option is
 * translated (ssh_config(5)); any other option fails rather than being ignored.
 */
export function parseSshOpts(opts: string[]): SshSettings {
  const out: SshSettings = {};
  for (let i = 0; i < opts.length; i++) {
    const flag = opts[i];
    const arg = opts[i + 1];
    if (flag === "-i" && arg !== undefined) {
      out.privateKeyPath = arg;
      i++;
    } else if (flag === "-p" && arg !== undefined) {
      out.port = Number(arg);
      i++;
    } else if (flag === "-o" && arg !== undefined) {
      const m = /^(\w+)[= ](.*)$/.exec(arg);
      if (!m) throw new Error(`sshOpts: cannot read option ${JSON.stringify(arg)}`);
      const [, key, value] = m;
      switch (key.toLowerCase()) {
        case "serveraliveinterval":
          out.keepaliveInterval = Number(value) * 1000;
          break;
        case "stricthostkeychecking":
          if (!["yes", "no", "accept-new"].includes(value)) throw new Error(`sshOpts: StrictHostKeyChecking=${value} is not supported (yes, no, accept-new)`);
          out.strictHostKeyChecking = value as SshSettings["strictHostKeyChecking"];
          break;
        case "userknownhostsfile":
          out.knownHostsFile = value;
          break;
        case "identityfile":
          out.privateKeyPath = value;
          break;
        case "port":
          out.port = Number(value);
          break;
        default:
          throw new Error(`sshOpts: the applier does not map the OpenSSH option ${key}`);
      }
      i++;
    } else {
      throw new Error(`sshOpts: the applier does not map the argument ${JSON.stringify(flag)}`);
    }
  }
  return out;
}

/** Host keys of a known_hosts file for `host` (plain entries; hashed ones are matched too). */
function knownHostKeys(file: string, host: string, port: number): Buffer[] | undefined {
  if (!fs.existsSync(file)) return undefined;
  const names = port === 22 ? [host] : [`[${host}]:${port}`];
  const keys: Buffer[] = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 3 || parts[0].startsWith("#")) continue;
    const hosts = parts[0].split(",");
    const match = hosts.some((h) => {
      if (h.startsWith("|1|")) {
        const [, , salt, hash] = h.split("|");
        return names.some((n) => crypto.createHmac("sha1", Buffer.from(salt, "base64")).update(n).digest("base64") === hash);
      }
      return names.includes(h);
    });
    if (match) keys.push(Buffer.from(parts[2], "base64"));
  }
  return keys;
}

const clients = new Map<string, Docker>();

/**
 * The dockerode client for a docker provider's `host` (kw:provider.go `host`: "The Docker daemon
 * address", default $DOCKER_HOST, else unix:///var/run/docker.sock): unix://<path>, tcp://host:port
 * (plain HTTP: no TLS inputs are mapped), ssh://[user@]host[:port] (the remote `docker system
 * dial-stdio`, as the provider's connection helper does; auth by the ssh agent at $SSH_AUTH_SOCK or
 * the key of `-i`/IdentityFile; host key checked against ~/.ssh/known_hosts unless
 * StrictHostKeyChecking=no; accept-new accepts an unknown host's key without recording it).
 */
export function dockerClient(provider?: ProviderRef): Docker {
  const inputs = provider?.inputs ?? {};
  for (const key of Object.keys(inputs)) {
    if (inputs[key] === undefined) continue;
    if (!["host", "sshOpts", "version"].includes(key)) throw new Error(`docker provider ${provider?.urn}: the applier does not map the input ${key}`);
  }
  const host: string = inputs.host || process.env.DOCKER_HOST || "unix:///var/run/docker.sock";
  const sshOpts = listInput(inputs.sshOpts, "docker provider sshOpts");
  const cacheKey = JSON.stringify([host, sshOpts]);
  const cached = clients.get(cacheKey);
  if (cached) return cached;
  const url = new URL(host);
  let client: Docker;
  if (url.protocol === "unix:") {
    client = new Docker({ socketPath: url.pathname });
  } else if (url.protocol === "tcp:" || url.protocol === "http:") {
    client = new Docker({ protocol: "http", host: url.hostname, port: Number(url.port || 2375) });
  } else if (url.protocol === "ssh:") {
    const ssh = parseSshOpts(sshOpts);
    const port = Number(url.port || ssh.port || 22);
    const knownHosts = ssh.knownHostsFile ?? path.join(os.homedir(), ".ssh", "known_hosts");
    const strict = ssh.strictHostKeyChecking ?? "yes";
    const sshOptions: Record<string, unknown> = {
      agent: process.env.SSH_AUTH_SOCK,
      keepaliveInterval: ssh.keepaliveInterval,
      privateKey: ssh.privateKeyPath ? fs.readFileSync(ssh.privateKeyPath.replace(/^~/, os.homedir())) : undefined,
      hostVerifier:
        strict === "no"
          ? undefined
          : (key: Buffer) => {
              const known = knownHostKeys(knownHosts, url.hostname, port);
              if (known && known.length > 0) return known.some((k) => k.equals(key));
              return strict === "accept-new";
            },
    };
    client = new Docker({ protocol: "ssh", host: url.hostname, port, username: decodeURIComponent(url.username) || os.userInfo().username, sshOptions } as Docker.DockerOptions);
  } else {
    throw new Error(`docker provider host ${host}: unsupported scheme (unix://, tcp://, ssh://)`);
  }
  clients.set(cacheKey, client);
  return client;
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Fails on keys of `obj` outside `allowed` (a nested input the applier would otherwise drop). */
function strictKeys(obj: Record<string, any> | undefined, allowed: readonly string[], where: string): void {
  if (!obj) return;
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined || value === null) continue;
    if (!allowed.includes(key)) throw new Error(`${where}.${key}: the applier does not map this input`);
  }
}

/** `labels` inputs: a set of {label, value} (kw:label.go) → the API's map. */
function labelMap(labels: { label: string; value: string }[] | undefined, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  (labels ?? []).forEach((l, i) => {
    strictKeys(l, ["label", "value"], `${where}[${i}]`);
    out[l.label] = String(l.value);
  });
  return out;
}

/**
 * A Go duration ("10s", "1m30s", "1h", "500ms") in nanoseconds, as `time.ParseDuration` reads the
 * provider's duration strings (kw:resource_docker_container_funcs.go healthcheck, kw:
 * resource_docker_service_structures.go). The API takes durations in nanoseconds.
 */
export function goDurationNs(value: string | undefined, where: string): number {
  if (value === undefined || value === "") return 0;
  if (value === "0") return 0;
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null) {
    total += Number(m[1]) * unit[m[2]];
    consumed = re.lastIndex;
  }
  if (consumed !== value.length || consumed === 0) throw new Error(`${where}: ${JSON.stringify(value)} is not a duration like "10s", "1m30s"`);
  return Math.round(total);
}

/** Docker API errors carry the daemon's message in `json.message`; show that. */
function apiMessage(err: any): string {
  return err?.json?.message ?? err?.reason ?? err?.message ?? String(err);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `docker --cpus` parsing (opts.ParseCPUs, used by kw:resource_docker_container_funcs.go): decimal → NanoCPUs. */
export function parseCpus(value: string, where: string): number {
  if (!/^\d+(\.\d+)?$/.test(value.trim())) throw new Error(`${where}: ${JSON.stringify(value)} is not a number of CPUs`);
  const nano = Math.round(Number(value) * 1e9);
  if (nano <= 0) throw new Error(`${where}: must be > 0`);
  return nano;
}

/** Pulumi's auto-name: the logical name, "-", 7 random hex digits (https://www.pulumi.com/docs/iac/concepts/resources/names/#autonaming). */
function autoName(logical: string): string {
  return `${logical}-${crypto.randomBytes(4).toString("hex").slice(0, 7)}`;
}

// ---------------------------------------------------------------------------------------------
// Network (kw:resource_docker_network.go, kw:resource_docker_network_funcs.go)

const networkInputs = ["name", "driver", "attachable", "internal", "labels", "options", "ipamConfigs", "ipamDriver", "ipv6"] as const;

const network: ResourceHandler = {
  mappedInputs: networkInputs,
  // Every argument of docker_network is ForceNew (kw:resource_docker_network.go); it has no Update.
  async create(inputs, ctx) {
    const docker = dockerClient(ctx.provider);
    const where = `${ctx.name} (docker Network)`;
    const ipam = (inputs.ipamConfigs ?? []).map((c: any, i: number) => {
      strictKeys(c, ["subnet", "gateway", "ipRange", "auxAddress"], `${where} ipamConfigs[${i}]`);
      return { Subnet: c.subnet, Gateway: c.gateway, IPRange: c.ipRange, AuxiliaryAddresses: c.auxAddress };
    });
    const created = await docker
      .createNetwork({
        Name: inputs.name ?? autoName(ctx.name),
        Driver: inputs.driver,
        Attachable: inputs.attachable,
        Internal: inputs.internal,
        EnableIPv6: inputs.ipv6,
        Labels: labelMap(inputs.labels, `${where} labels`),
        Options: inputs.options,
        IPAM: ipam.length || inputs.ipamDriver ? { Driver: inputs.ipamDriver ?? "default", Config: ipam } : undefined,
        CheckDuplicate: true,
      })
      .catch((err) => {
        throw new Error(`${where}: creating network ${inputs.name}: ${apiMessage(err)}`);
      });
    // A swarm-scoped network is written to the cluster store first and its driver filled in by the
    // manager's allocator afterwards: inspected at once it can still show Driver "" (seen in CI).
    // The provider reads it back the same way, polling for up to 30 s
    // (kw:resource_docker_network_funcs.go networkReadRefreshTimeout / networkReadRefreshDelay).
    const deadline = Date.now() + 30_000;
    let info = await created.inspect();
    while (!info.Driver && Date.now() < deadline) {
      await sleep(500);
      info = await created.inspect();
    }
    if (!info.Driver) throw new Error(`${where}: network ${info.Name} still has no driver 30 s after it was created`);
    return { id: info.Id, outputs: { ...inputs, name: info.Name, driver: info.Driver, scope: info.Scope } };
  },
  /**
   * Like the provider (kw:resource_docker_network_funcs.go resourceDockerNetworkRemoveRefreshFunc):
   * remove, retrying while the engine says "has active endpoints", for at most 30 s; then fail.
   */
  async delete(id, _outputs, _inputs, ctx) {
    const docker = dockerClient(ctx.provider);
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await docker.getNetwork(id).remove();
        return;
      } catch (err: any) {
        if (err?.statusCode === 404) return;
        if (!/has active endpoints/.test(apiMessage(err)) || Date.now() > deadline) {
          throw new Error(`${ctx.name} (docker Network): removing ${id}: ${apiMessage(err)}`);
        }
        await sleep(2000);
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Volume (kw:resource_docker_volume.go)

const volume: ResourceHandler = {
  mappedInputs: ["name", "labels", "driver", "driverOpts"],
  // name, labels, driver, driver_opts are all ForceNew (kw:resource_docker_volume.go).
  async create(inputs, ctx) {
    const docker = dockerClient(ctx.provider);
    const where = `${ctx.name} (docker Volume)`;
    const created: any = await docker
      .createVolume({ Name: inputs.name ?? "", Driver: inputs.driver ?? "local", DriverOpts: inputs.driverOpts, Labels: labelMap(inputs.labels, `${where} labels`) })
      .catch((err) => {
        throw new Error(`${where}: ${apiMessage(err)}`);
      });
    // dockerode resolves to a Volume handle (its `name`), not the API's JSON: read the volume back.
    const v: any = await docker.getVolume(created.name ?? created.Name).inspect();
    // The provider's id is the volume's name (d.SetId(retVolume.Name)).
    return { id: v.Name, outputs: { ...inputs, name: v.Name, driver: v.Driver, mountpoint: v.Mountpoint } };
  },
  /** Forced remove, retried for 30 s while "volume is in use" (kw:resource_docker_volume.go resourceDockerVolumeRemoveRefreshFunc). */
  async delete(id, _outputs, _inputs, ctx) {
    const docker = dockerClient(ctx.provider);
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await docker.getVolume(id).remove({ force: true });
        return;
      } catch (err: any) {
        if (err?.statusCode === 404) return;
        if (!/volume is in use/.test(apiMessage(err)) || Date.now() > deadline) throw new Error(`${ctx.name} (docker Volume): removing ${id}: ${apiMessage(err)}`);
        await sleep(2000);
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------
// RemoteImage (kw:resource_docker_image.go, kw:resource_docker_image_funcs.go)

/**
 * The provider's repo digest of a local image (kw:data_source_docker_image.go determineRepoDigest):
 * "" when the image has no RepoDigests (built or imported locally, never pushed/pulled); its only one;
 * else the one whose repository prefixes the image name.
 */
export function repoDigestOf(name: string, repoDigests: string[] | undefined): string {
  const digests = repoDigests ?? [];
  if (digests.length === 0) return "";
  if (digests.length === 1) return digests[0];
  const colon = name.indexOf(":");
  const repo = colon === -1 ? name : name.slice(0, colon);
  return digests.find((d) => d.startsWith(repo)) ?? "";
}

const remoteImage: ResourceHandler = {
  mappedInputs: ["name", "keepLocally", "pullTriggers", "forceRemove"],
  // name and pull_triggers are ForceNew; keep_locally/force_remove only matter on delete (kw:resource_docker_image.go).
  replaceKeys: ["name", "pullTriggers"],
  /**
   * No registry is reachable here, so nothing is pulled: the image must already be on the engine
   * (the stand-in images are built there). Outputs as the provider's Read (kw:resource_docker_image_funcs.go):
   * imageId = the image's Id ("sha256:..."), repoDigest per `repoDigestOf` ("" for a locally built
   * image, exactly what the provider reports for one), id = imageId + name.
   */
  async create(inputs, ctx) {
    const docker = dockerClient(ctx.provider);
    const info = await docker
      .getImage(inputs.name)
      .inspect()
      .catch((err) => {
        throw new Error(
          `${ctx.name} (docker RemoteImage): image ${inputs.name} is not on the engine (${apiMessage(err)}); the applier does not pull (no registry here): build or tag it first`,
        );
      });
    const repoDigest = repoDigestOf(inputs.name, info.RepoDigests);
    return { id: info.Id + inputs.name, outputs: { ...inputs, imageId: info.Id, repoDigest } };
  },
  async update(_id, _olds, news, _oldOutputs, ctx) {
    return remoteImage.create(news, ctx);
  },
  /** keepLocally: nothing; else remove the image by name (kw:resource_docker_image_funcs.go removeImage). */
  async delete(_id, _outputs, inputs, ctx) {
    if (inputs.keepLocally) return;
    const docker = dockerClient(ctx.provider);
    try {
      await docker.getImage(inputs.name).remove({ force: inputs.forceRemove ?? false });
    } catch (err: any) {
      if (err?.statusCode === 404) return;
      throw new Error(`${ctx.name} (docker RemoteImage): removing ${inputs.name}: ${apiMessage(err)}`);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Container (kw:resource_docker_container.go schema, kw:resource_docker_container_funcs.go create/update/delete)

const containerInputs = [
  "name",
  "image",
  "command",
  "entrypoints",
  "envs",
  "labels",
  "restart",
  "maxRetryCount",
  "networkMode",
  "networksAdvanced",
  "ports",
  "volumes",
  "uploads",
  "capabilities",
  "securityOpts",
  "cpus",
  "memory",
  "healthcheck",
  "wait",
  "waitTimeout",
  "mustRun",
  "start",
  "destroyGraceSeconds",
  "removeVolumes",
  "user",
  "workingDir",
  "hostname",
  "logDriver",
  "logOpts",
] as const;

/**
 * Inputs whose change replaces the container: those of `containerInputs` that the provider's schema
 * marks ForceNew (kw:resource_docker_container.go). The others are updated in place (restart,
 * max_retry_count, memory: ContainerUpdate in resourceDockerContainerUpdate) or only recorded
 * (wait, wait_timeout, must_run, start, destroy_grace_seconds), except healthcheck: see `update`.
 */
const containerReplaceKeys = [
  "name",
  "image",
  "command",
  "entrypoints",
  "envs",
  "labels",
  "networkMode",
  "networksAdvanced",
  "ports",
  "volumes",
  "uploads",
  "capabilities",
  "securityOpts",
  "cpus",
  "user",
  "workingDir",
  "hostname",
  "logDriver",
  "logOpts",
];

/** The tar archive the provider copies into the container for each upload (kw:resource_docker_container_funcs.go). */
export async function uploadArchive(upload: Record<string, any>, where: string): Promise<Buffer> {
  strictKeys(upload, ["file", "content", "contentBase64", "executable", "permissions"], where);
  const set = ["content", "contentBase64"].filter((k) => upload[k] !== undefined && upload[k] !== "");
  if (set.length !== 1) throw new Error(`${where}: exactly one of content, contentBase64 must be set (got ${set.join(", ") || "none"})`);
  const data = upload.content !== undefined && upload.content !== "" ? Buffer.from(String(upload.content), "utf8") : Buffer.from(String(upload.contentBase64), "base64");
  // permissions (octal string) wins over executable; else 0744 if executable, else 0644.
  let mode: number;
  if (upload.permissions !== undefined && upload.permissions !== "") {
    if (!/^[0-7]{1,4}$/.test(String(upload.permissions))) throw new Error(`${where}.permissions: ${JSON.stringify(upload.permissions)} is not an octal mode`);
    mode = parseInt(String(upload.permissions), 8);
  } else {
    mode = upload.executable ? 0o744 : 0o644;
  }
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pack.on("data", (c: unknown) => chunks.push(c as Buffer));
    pack.on("end", () => resolve(Buffer.concat(chunks)));
    pack.on("error", reject);
  });
  // Header name = the file's absolute path, extracted at "/" (the engine creates missing parent dirs).
  pack.entry({ name: String(upload.file), mode, size: data.length, mtime: new Date() }, data);
  pack.finalize();
  return done;
}

async function containerLogsTail(c: Docker.Container): Promise<string> {
  try {
    const buf = (await c.logs({ stdout: true, stderr: true, tail: 20 })) as unknown as Buffer;
    // Multiplexed stream: 8-byte frame headers; strip them to the text.
    const out: string[] = [];
    for (let i = 0; i + 8 <= buf.length;) {
      const len = buf.readUInt32BE(i + 4);
      out.push(buf.subarray(i + 8, i + 8 + len).toString("utf8"));
      i += 8 + len;
    }
    return out.join("").trim();
  } catch {
    return "";
  }
}

function containerCreateOptions(inputs: Record<string, any>, name: string, where: string): Docker.ContainerCreateOptions {
  const exposed: Record<string, {}> = {};
  const bindings: Record<string, { HostIp?: string; HostPort?: string }[]> = {};
  (inputs.ports ?? []).forEach((p: any, i: number) => {
    strictKeys(p, ["internal", "external", "ip", "protocol"], `${where} ports[${i}]`);
    // Schema defaults: ip "0.0.0.0", protocol "tcp"; external unset → a random host port (kw:resource_docker_container_structures.go portSetToDockerPorts).
    const key = `${p.internal}/${p.protocol ?? "tcp"}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: p.ip ?? "0.0.0.0", HostPort: p.external !== undefined ? String(p.external) : "" });
  });
  const volumes: Record<string, {}> = {};
  const binds: string[] = [];
  (inputs.volumes ?? []).forEach((v: any, i: number) => {
    strictKeys(v, ["volumeName", "hostPath", "containerPath", "readOnly"], `${where} volumes[${i}]`);
    if (!v.containerPath) throw new Error(`${where} volumes[${i}]: volume entry without container path`);
    // volume_name wins over host_path in the code (kw:resource_docker_container_structures.go
    // volumeSetToDockerVolumes); neither: an anonymous volume at containerPath.
    const source = v.volumeName || v.hostPath;
    volumes[v.containerPath] = {};
    if (source) binds.push(`${source}:${v.containerPath}:${v.readOnly ? "ro" : "rw"}`);
  });
  let healthcheck: Docker.ContainerCreateOptions["Healthcheck"];
  if (inputs.healthcheck) {
    const h = inputs.healthcheck;
    strictKeys(h, ["tests", "interval", "timeout", "startPeriod", "retries"], `${where} healthcheck`);
    healthcheck = {
      Test: h.tests,
      Interval: goDurationNs(h.interval, `${where} healthcheck.interval`),
      Timeout: goDurationNs(h.timeout, `${where} healthcheck.timeout`),
      StartPeriod: goDurationNs(h.startPeriod, `${where} healthcheck.startPeriod`),
      Retries: h.retries ?? 0,
    };
  }
  let capAdd: string[] | undefined;
  let capDrop: string[] | undefined;
  if (inputs.capabilities) {
    strictKeys(inputs.capabilities, ["adds", "drops"], `${where} capabilities`);
    capAdd = inputs.capabilities.adds;
    capDrop = inputs.capabilities.drops;
  }
  if (inputs.command?.some((c: string) => c === "")) throw new Error(`${where} command: values for command may not be empty`);
  return {
    name,
    Image: inputs.image,
    Cmd: inputs.command,
    Entrypoint: inputs.entrypoints,
    Env: inputs.envs,
    Labels: labelMap(inputs.labels, `${where} labels`),
    User: inputs.user,
    WorkingDir: inputs.workingDir,
    Hostname: inputs.hostname,
    ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
    Volumes: Object.keys(volumes).length ? volumes : undefined,
    Healthcheck: healthcheck,
    HostConfig: {
      // restart defaults to "no", max_retry_count to 0 (kw:resource_docker_container.go).
      RestartPolicy: { Name: inputs.restart ?? "no", MaximumRetryCount: inputs.maxRetryCount ?? 0 },
      PortBindings: Object.keys(bindings).length ? bindings : undefined,
      Binds: binds.length ? binds : undefined,
      CapAdd: capAdd,
      CapDrop: capDrop,
      // security_opts (ForceNew, a set of strings) → HostConfig.SecurityOpt (kw:resource_docker_container_funcs.go).
      SecurityOpt: inputs.securityOpts?.length ? [...inputs.securityOpts] : undefined,
      // memory in MB → bytes; cpus like `docker run --cpus` → NanoCpus.
      Memory: inputs.memory !== undefined ? Number(inputs.memory) * 1024 * 1024 : undefined,
      NanoCpus: inputs.cpus !== undefined ? parseCpus(String(inputs.cpus), `${where} cpus`) : undefined,
      NetworkMode: inputs.networkMode,
      LogConfig: inputs.logDriver || inputs.logOpts ? { Type: inputs.logDriver ?? "json-file", Config: inputs.logOpts ?? {} } : undefined,
      // init defaults to false and is always sent (kw: hostConfig.Init = &init).
      Init: false,
    },
  };
}

/**
 * Stops (grace = destroyGraceSeconds, else 0 like the provider) and force-removes a container, with
 * its anonymous volumes unless removeVolumes is false (schema default true; RemoveVolumes in
 * resourceDockerContainerDelete).
 */
async function removeContainer(docker: Docker, id: string, graceSeconds: number | undefined, removeVolumes = true): Promise<void> {
  const c = docker.getContainer(id);
  try {
    await c.stop({ t: graceSeconds && graceSeconds > 0 ? graceSeconds : 0 });
  } catch (err: any) {
    if (err?.statusCode !== 304 && err?.statusCode !== 404) throw err;
  }
  try {
    await c.remove({ force: true, v: removeVolumes });
  } catch (err: any) {
    if (err?.statusCode !== 404 && !/already in progress/.test(apiMessage(err))) throw err;
  }
  // Wait until it is gone (the provider waits with condition not-running/removed).
  for (let i = 0; i < 100; i++) {
    try {
      await c.inspect();
    } catch (err: any) {
      if (err?.statusCode === 404) return;
    }
    await sleep(100);
  }
}

const container: ResourceHandler = {
  mappedInputs: containerInputs,
  replaceKeys: containerReplaceKeys,
  /**
   * As resourceDockerContainerCreate: the image must exist (no pull here); create; if networksAdvanced:
   * disconnect the default bridge, connect each network with its aliases; copy each upload in (tar at
   * "/"); start (unless start=false); with `wait`, poll every second until the health status is
   * "healthy", failing after waitTimeout seconds (default 60) or at once when there is no health check.
   *
   * On a failed wait the provider returns the error with the container created (Pulumi records it as
   * a failed create and replaces it on the next `up`); the applier has no such partial state, so it
   * removes the new container before failing. It also fails early when the container stopped and
   * will not be restarted (restart "no"), which can never become healthy.
   */
  async create(inputs, ctx) {
    const docker = dockerClient(ctx.provider);
    const where = `${ctx.name} (docker Container)`;
    // name is Required in the provider; Pulumi auto-names it when the program leaves it out.
    const name: string = inputs.name ?? autoName(ctx.name);
    await docker
      .getImage(inputs.image)
      .inspect()
      .catch((err) => {
        throw new Error(`${where}: unable to create container with image ${inputs.image}: ${apiMessage(err)} (the applier does not pull)`);
      });
    const options = containerCreateOptions(inputs, name, where);
    const uploads = await Promise.all((inputs.uploads ?? []).map((u: any, i: number) => uploadArchive(u, `${where} uploads[${i}]`)));
    const networks: { name: string; aliases?: string[] }[] = (inputs.networksAdvanced ?? []).map((n: any, i: number) => {
      strictKeys(n, ["name", "aliases", "ipv4Address", "ipv6Address"], `${where} networksAdvanced[${i}]`);
      return n;
    });
    let created: Docker.Container;
    try {
      created = await docker.createContainer(options);
    } catch (err) {
      throw new Error(`${where}: unable to create container ${name}: ${apiMessage(err)}`);
    }
    const fail = async (message: string): Promise<never> => {
      const logs = await containerLogsTail(created);
      await removeContainer(docker, created.id, 0, inputs.removeVolumes ?? true).catch(() => undefined);
      throw new Error(`${where}: ${message}${logs ? `\n--- last log lines of ${name} ---\n${logs}` : ""}`);
    };
    try {
      if (networks.length > 0) {
        try {
          await docker.getNetwork("bridge").disconnect({ Container: created.id, Force: false });
        } catch (err) {
          if (!/is not connected to the network/.test(apiMessage(err))) throw err;
        }
        for (const n of networks) {
          await docker.getNetwork(n.name).connect({
            Container: created.id,
            EndpointConfig: {
              Aliases: n.aliases,
              IPAMConfig: (n as any).ipv4Address || (n as any).ipv6Address ? { IPv4Address: (n as any).ipv4Address, IPv6Address: (n as any).ipv6Address } : undefined,
            },
          });
        }
      }
      for (const archive of uploads) await created.putArchive(archive, { path: "/" });
      if (inputs.start !== false) await created.start();
    } catch (err) {
      return fail(`setting up container ${name}: ${apiMessage(err)}`);
    }
    if (inputs.start !== false && inputs.wait) {
      const timeoutSeconds = inputs.waitTimeout ?? 60;
      const deadline = Date.now() + timeoutSeconds * 1000;
      ctx.log(`waiting up to ${timeoutSeconds}s for ${name} to be healthy`);
      for (;;) {
        const info = await created.inspect();
        const health = info.State.Health;
        if (!health) return fail("you have supplied a 'wait' argument, but the container does not have a healthcheck defined");
        if (health.Status === "healthy") break;
        if (!info.State.Running && !info.State.Restarting && (inputs.restart ?? "no") === "no") {
          return fail(`container ${name} exited (code ${info.State.ExitCode}) before it was healthy`);
        }
        if (Date.now() > deadline) {
          const last = health.Log?.[health.Log.length - 1];
          return fail(
            `container failed to be in healthy state within ${timeoutSeconds}s (health ${health.Status}${last ? `, last check exit ${last.ExitCode}: ${String(last.Output).trim().slice(0, 300)}` : ""})`,
          );
        }
        await sleep(1000);
      }
    }
    const info = await created.inspect();
    // must_run (default true): the provider's read after create fails on a container that is not running.
    if (inputs.start !== false && (inputs.mustRun ?? true) && !info.State.Running) {
      return fail(`container ${name} is not running after start (exit code ${info.State.ExitCode})`);
    }
    return {
      id: created.id,
      outputs: {
        ...inputs,
        name: info.Name.replace(/^\//, ""),
        restart: inputs.restart ?? "no",
        networkDatas: Object.entries(info.NetworkSettings.Networks ?? {}).map(([networkName, n]) => ({
          networkName,
          ipAddress: n.IPAddress,
          gateway: n.Gateway,
          macAddress: n.MacAddress,
        })),
      },
    };
  },
  /**
   * resourceDockerContainerUpdate: a change of restart, max_retry_count or memory goes to
   * ContainerUpdate. wait, wait_timeout, must_run, start and destroy_grace_seconds are recorded
   * only. healthcheck is not ForceNew in the provider, yet its Update does not touch it: the running
   * container would keep its old health check while the state shows the new one. The applier refuses
   * that silent drift loudly instead of emulating it.
   */
  async update(id, olds, news, oldOutputs, ctx) {
    const where = `${ctx.name} (docker Container)`;
    if (JSON.stringify(olds.healthcheck ?? null) !== JSON.stringify(news.healthcheck ?? null)) {
      throw new Error(`${where}: healthcheck changed; the provider updates it in state only (the container keeps the old check): replace the container instead`);
    }
    const docker = dockerClient(ctx.provider);
    if (olds.restart !== news.restart || olds.maxRetryCount !== news.maxRetryCount || olds.memory !== news.memory) {
      await docker
        .getContainer(id)
        .update({
          RestartPolicy: { Name: news.restart ?? "no", MaximumRetryCount: news.maxRetryCount ?? 0 },
          Memory: news.memory !== undefined ? Number(news.memory) * 1024 * 1024 : 0,
        })
        .catch((err) => {
          throw new Error(`${where}: unable to update container: ${apiMessage(err)}`);
        });
    }
    return { id, outputs: { ...oldOutputs, ...news, name: oldOutputs.name, restart: news.restart ?? "no" } };
  },
  async delete(id, _outputs, inputs, ctx) {
    await removeContainer(dockerClient(ctx.provider), id, inputs.destroyGraceSeconds, inputs.removeVolumes ?? true).catch((err) => {
      throw new Error(`${ctx.name} (docker Container): error deleting container ${id}: ${apiMessage(err)}`);
    });
  },
};

// ---------------------------------------------------------------------------------------------
// Swarm config and secret (kw:resource_docker_config.go, kw:resource_docker_secret.go)

const serviceConfig: ResourceHandler = {
  mappedInputs: ["name", "data"],
  // name and data are ForceNew (a swarm config is immutable).
  async create(inputs, ctx) {
    const docker = dockerClient(ctx.provider);
    // data is base64 already (the provider passes it as the spec's Data, which the API takes base64-encoded).
    const res: any = await docker.createConfig({ Name: inputs.name, Data: inputs.data } as any).catch((err) => {
      throw new Error(`${ctx.name} (docker ServiceConfig): creating config ${inputs.name}: ${apiMessage(err)}`);
    });
    return { id: res.id ?? res.ID, outputs: { ...inputs } };
  },
  async delete(id, _outputs, _inputs, ctx) {
    try {
      await dockerClient(ctx.provider).getConfig(id).remove();
    } catch (err: any) {
      if (err?.statusCode !== 404) throw new Error(`${ctx.name} (docker ServiceConfig): removing ${id}: ${apiMessage(err)}`);
    }
  },
};

const secret: ResourceHandler = {
  mappedInputs: ["name", "data", "labels"],
  async create(inputs, ctx) {
    const docker = dockerClient(ctx.provider);
    const res: any = await docker
      .createSecret({ Name: inputs.name, Data: inputs.data, Labels: labelMap(inputs.labels, `${ctx.name} (docker Secret) labels`) } as any)
      .catch((err) => {
        throw new Error(`${ctx.name} (docker Secret): creating secret ${inputs.name}: ${apiMessage(err)}`);
      });
    return { id: res.id ?? res.ID, outputs: { ...inputs } };
  },
  async delete(id, _outputs, _inputs, ctx) {
    try {
      await dockerClient(ctx.provider).getSecret(id).remove();
    } catch (err: any) {
      if (err?.statusCode !== 404) throw new Error(`${ctx.name} (docker Secret): removing ${id}: ${apiMessage(err)}`);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Service (kw:resource_docker_service.go, kw:resource_docker_service_structures.go, kw:resource_docker_service_funcs.go)

/** Defaults of update_config / rollback_config when the block is given (kw:resource_docker_service.go). */
function updateOrRollbackConfig(c: any, where: string): Record<string, unknown> | undefined {
  if (!c) return undefined;
  strictKeys(c, ["parallelism", "delay", "failureAction", "monitor", "maxFailureRatio", "order"], where);
  return {
    Parallelism: c.parallelism ?? 1,
    Delay: goDurationNs(c.delay ?? "0s", `${where}.delay`),
    FailureAction: c.failureAction ?? "pause",
    Monitor: goDurationNs(c.monitor ?? "5s", `${where}.monitor`),
    MaxFailureRatio: Number(c.maxFailureRatio ?? "0.0"),
    Order: c.order ?? "stop-first",
  };
}

/** The Engine API ServiceSpec for a docker.Service's inputs (createServiceSpec in kw:resource_docker_service_structures.go). */
export function serviceSpec(inputs: Record<string, any>, where: string): Record<string, any> {
  const t = inputs.taskSpec ?? {};
  strictKeys(t, ["containerSpec", "resources", "networksAdvanceds", "placement", "restartPolicy", "forceUpdate"], `${where} taskSpec`);
  const cs = t.containerSpec ?? {};
  strictKeys(
    cs,
    ["image", "commands", "args", "env", "labels", "healthcheck", "mounts", "configs", "secrets", "capAdds", "capDrops", "user", "dir", "hostname", "stopGracePeriod"],
    `${where} taskSpec.containerSpec`,
  );
  const env = cs.env ? Object.entries(cs.env as Record<string, string>).map(([k, v]) => `${k}=${v}`) : undefined;
  let healthCheck: Record<string, unknown> | undefined;
  if (cs.healthcheck) {
    const h = cs.healthcheck;
    strictKeys(h, ["tests", "interval", "timeout", "startPeriod", "retries"], `${where} taskSpec.containerSpec.healthcheck`);
    healthCheck = {
      Test: h.tests,
      Interval: goDurationNs(h.interval ?? "0s", `${where} healthcheck.interval`),
      Timeout: goDurationNs(h.timeout ?? "0s", `${where} healthcheck.timeout`),
      StartPeriod: goDurationNs(h.startPeriod ?? "0s", `${where} healthcheck.startPeriod`),
      Retries: h.retries ?? 0,
    };
  }
  const mounts = (cs.mounts ?? []).map((m: any, i: number) => {
    strictKeys(m, ["type", "source", "target", "readOnly"], `${where} taskSpec.containerSpec.mounts[${i}]`);
    return { Type: m.type, Source: m.source, Target: m.target, ReadOnly: m.readOnly ?? false };
  });
  // file_uid/file_gid default "0", file_mode 0444 (kw:resource_docker_service.go).
  const fileRef = (f: any) => ({ Name: f.fileName, UID: f.fileUid ?? "0", GID: f.fileGid ?? "0", Mode: f.fileMode ?? 0o444 });
  const configs = (cs.configs ?? []).map((c: any, i: number) => {
    strictKeys(c, ["configId", "configName", "fileName", "fileUid", "fileGid", "fileMode"], `${where} taskSpec.containerSpec.configs[${i}]`);
    return { ConfigID: c.configId, ConfigName: c.configName, File: fileRef(c) };
  });
  const secrets = (cs.secrets ?? []).map((s: any, i: number) => {
    strictKeys(s, ["secretId", "secretName", "fileName", "fileUid", "fileGid", "fileMode"], `${where} taskSpec.containerSpec.secrets[${i}]`);
    return { SecretID: s.secretId, SecretName: s.secretName, File: fileRef(s) };
  });
  let resources: Record<string, unknown> | undefined;
  if (t.resources) {
    strictKeys(t.resources, ["limits", "reservation"], `${where} taskSpec.resources`);
    if (t.resources.limits) strictKeys(t.resources.limits, ["nanoCpus", "memoryBytes"], `${where} taskSpec.resources.limits`);
    if (t.resources.reservation) strictKeys(t.resources.reservation, ["nanoCpus", "memoryBytes"], `${where} taskSpec.resources.reservation`);
    const lim = (l: any) => (l ? { NanoCPUs: l.nanoCpus, MemoryBytes: l.memoryBytes } : undefined);
    resources = { Limits: lim(t.resources.limits), Reservations: lim(t.resources.reservation) };
  }
  const networks = (t.networksAdvanceds ?? []).map((n: any, i: number) => {
    strictKeys(n, ["name", "aliases", "driverOpts"], `${where} taskSpec.networksAdvanceds[${i}]`);
    return { Target: n.name, Aliases: n.aliases, DriverOpts: n.driverOpts };
  });
  let placement: Record<string, unknown> | undefined;
  if (t.placement) {
    strictKeys(t.placement, ["constraints", "prefs", "maxReplicas"], `${where} taskSpec.placement`);
    placement = {
      Constraints: t.placement.constraints,
      Preferences: (t.placement.prefs ?? []).map((p: string) => ({ Spread: { SpreadDescriptor: p } })),
      MaxReplicas: t.placement.maxReplicas,
    };
  }
  let restartPolicy: Record<string, unknown> | undefined;
  if (t.restartPolicy) {
    strictKeys(t.restartPolicy, ["condition", "delay", "maxAttempts", "window"], `${where} taskSpec.restartPolicy`);
    restartPolicy = {
      Condition: t.restartPolicy.condition ?? "any",
      Delay: t.restartPolicy.delay !== undefined ? goDurationNs(t.restartPolicy.delay, `${where} restartPolicy.delay`) : undefined,
      MaxAttempts: t.restartPolicy.maxAttempts,
      Window: t.restartPolicy.window !== undefined ? goDurationNs(t.restartPolicy.window, `${where} restartPolicy.window`) : undefined,
    };
  }
  const mode = inputs.mode ?? { replicated: { replicas: 1 } };
  strictKeys(mode, ["replicated", "global"], `${where} mode`);
  if (mode.replicated) strictKeys(mode.replicated, ["replicas"], `${where} mode.replicated`);
  let endpointSpec: Record<string, unknown> | undefined;
  if (inputs.endpointSpec) {
    strictKeys(inputs.endpointSpec, ["mode", "ports"], `${where} endpointSpec`);
    endpointSpec = {
      Mode: inputs.endpointSpec.mode ?? "vip",
      Ports: (inputs.endpointSpec.ports ?? []).map((p: any, i: number) => {
        strictKeys(p, ["name", "protocol", "targetPort", "publishedPort", "publishMode"], `${where} endpointSpec.ports[${i}]`);
        return { Name: p.name, Protocol: p.protocol ?? "tcp", TargetPort: p.targetPort, PublishedPort: p.publishedPort, PublishMode: p.publishMode ?? "ingress" };
      }),
    };
  }
  return {
    Name: inputs.name,
    Labels: labelMap(inputs.labels, `${where} labels`),
    TaskTemplate: {
      ContainerSpec: {
        Image: cs.image,
        Command: cs.commands,
        Args: cs.args,
        Env: env,
        Labels: labelMap(cs.labels, `${where} taskSpec.containerSpec.labels`),
        User: cs.user,
        Dir: cs.dir,
        Hostname: cs.hostname,
        HealthCheck: healthCheck,
        Mounts: mounts,
        Configs: configs,
        Secrets: secrets,
        CapabilityAdd: cs.capAdds,
        CapabilityDrop: cs.capDrops,
        StopGracePeriod: cs.stopGracePeriod !== undefined ? goDurationNs(cs.stopGracePeriod, `${where} stopGracePeriod`) : undefined,
      },
      Resources: resources,
      Networks: networks,
      Placement: placement,
      RestartPolicy: restartPolicy,
      ForceUpdate: t.forceUpdate ?? 0,
    },
    Mode: mode.global ? { Global: {} } : { Replicated: { Replicas: mode.replicated?.replicas ?? 1 } },
    UpdateConfig: updateOrRollbackConfig(inputs.updateConfig, `${where} updateConfig`),
    RollbackConfig: updateOrRollbackConfig(inputs.rollbackConfig, `${where} rollbackConfig`),
    EndpointSpec: endpointSpec,
  };
}

/** converge_config defaults: delay 7s, timeout 3m (kw:resource_docker_service.go). */
function convergeOf(inputs: Record<string, any>, where: string): { delayMs: number; timeoutMs: number } | undefined {
  const c = inputs.convergeConfig;
  if (!c) return undefined;
  strictKeys(c, ["delay", "timeout", "interval"], `${where} convergeConfig`);
  return { delayMs: goDurationNs(c.delay ?? "7s", `${where} convergeConfig.delay`) / 1e6, timeoutMs: goDurationNs(c.timeout ?? "3m", `${where} convergeConfig.timeout`) / 1e6 };
}

/**
 * Tasks that count as converged (kw:resource_docker_service_funcs.go replicatedConsoleLogUpdater): per
 * slot the task with the lowest desired state, on an active node; running = desired not past
 * "running" and observed "running". Swarm reports a task with a health check "running" only once
 * the check passes (before: "starting").
 */
async function runningTasks(docker: Docker, serviceId: string): Promise<{ running: number; tasks: any[] }> {
  const tasks: any[] = await docker.listTasks({ filters: { service: [serviceId], "desired-state": ["running"] } });
  const nodes: any[] = await docker.listNodes();
  const active = new Set(nodes.filter((n) => n.Status?.State !== "down").map((n) => n.ID));
  const bySlot = new Map<number, any>();
  for (const t of tasks) {
    if (t.NodeID && !active.has(t.NodeID)) continue;
    const key = t.Slot ?? t.NodeID;
    const prev = bySlot.get(key);
    if (!prev || (prev.Status?.State !== "running" && t.Status?.State === "running")) bySlot.set(key, t);
  }
  const running = [...bySlot.values()].filter((t) => t.Status?.State === "running").length;
  return { running, tasks };
}

function taskErrors(tasks: any[]): string {
  const errs = tasks.map((t) => t.Status?.Err).filter(Boolean);
  return errs.length ? ` (task errors: ${[...new Set(errs)].slice(0, 3).join("; ")})` : "";
}

async function waitCreated(docker: Docker, id: string, replicas: number, conv: { delayMs: number; timeoutMs: number }, ctx: ApplyContext): Promise<void> {
  const deadline = Date.now() + conv.timeoutMs;
  await sleep(Math.min(conv.delayMs, conv.timeoutMs));
  for (;;) {
    const { running, tasks } = await runningTasks(docker, id);
    if (running === replicas) return;
    if (Date.now() > deadline) {
      const all: any[] = await docker.listTasks({ filters: { service: [id] } });
      throw new Error(`Service with ID (${id}) did not converge after ${conv.timeoutMs / 1000}s: ${running}/${replicas} running${taskErrors(all.length ? all : tasks)}`);
    }
    ctx.log(`service ${id.slice(0, 12)}: ${running}/${replicas} tasks running`);
    await sleep(2000);
  }
}

const serviceInputs = ["name", "labels", "taskSpec", "mode", "updateConfig", "rollbackConfig", "endpointSpec", "convergeConfig"] as const;

async function removeService(docker: Docker, id: string): Promise<void> {
  try {
    await docker.getService(id).remove();
  } catch (err: any) {
    if (err?.statusCode !== 404) throw err;
  }
  // The API returns before the tasks' containers are gone; a network or config the service used can
  // only be removed after that: wait for its tasks to disappear (at most 60 s).
  for (let i = 0; i < 60; i++) {
    const tasks: any[] = await docker.listTasks({ filters: { service: [id] } }).catch(() => []);
    if (tasks.length === 0) return;
    await sleep(1000);
  }
}

const service: ResourceHandler = {
  mappedInputs: serviceInputs,
  // name and mode are ForceNew (and auth, not mapped); everything else updates in place (kw:resource_docker_service.go).
  replaceKeys: ["name", "mode"],
  /**
   * resourceDockerServiceCreate: ServiceCreate; with convergeConfig, wait (after `delay`) until as many
   * tasks run as replicas, within `timeout`; a service that does not converge is deleted and the
   * create fails ("did not converge").
   */
  async create(inputs, ctx) {
    const docker = dockerClient(ctx.provider);
    const where = `${ctx.name} (docker Service)`;
    const spec = serviceSpec(inputs, where);
    let id: string;
    try {
      const res: any = await docker.createService(spec as any);
      id = res.id ?? res.ID;
    } catch (err) {
      throw new Error(`${where}: creating service ${inputs.name}: ${apiMessage(err)}`);
    }
    const conv = convergeOf(inputs, where);
    if (conv && spec.Mode.Replicated) {
      try {
        await waitCreated(docker, id, spec.Mode.Replicated.Replicas, conv, ctx);
      } catch (err) {
        await removeService(docker, id).catch(() => undefined);
        throw new Error(`${where}: ${(err as Error).message}`);
      }
    }
    return { id, outputs: { ...inputs } };
  },
  /**
   * resourceDockerServiceUpdate: ServiceUpdate with the spec built from the new inputs at the current
   * version index; with convergeConfig, wait for the update's UpdateStatus: "completed" → done;
   * "rollback_completed" → fail ("service rollback completed: <message>", Swarm already rolled back
   * to the previous spec, as failureAction rollback asks); "paused"/"rollback_paused" → fail. A spec
   * change that needs no task update (Swarm starts no rolling update) converges when the tasks run.
   */
  async update(id, _olds, news, oldOutputs, ctx) {
    const docker = dockerClient(ctx.provider);
    const where = `${ctx.name} (docker Service)`;
    const svc = docker.getService(id);
    const current: any = await svc.inspect();
    const spec = serviceSpec(news, where);
    const issuedAt = Date.now();
    try {
      await svc.update({ ...spec, version: current.Version.Index } as any);
    } catch (err) {
      throw new Error(`${where}: updating service ${news.name}: ${apiMessage(err)}`);
    }
    const conv = convergeOf(news, where);
    if (conv) {
      const deadline = Date.now() + conv.timeoutMs;
      // The provider polls after a fixed 7 s delay.
      await sleep(Math.min(7000, conv.timeoutMs));
      for (;;) {
        const s: any = await svc.inspect();
        const st = s.UpdateStatus;
        const fresh = st && (!st.StartedAt || Date.parse(st.StartedAt) >= issuedAt - 2000);
        if (fresh) {
          if (st.State === "completed") break;
          if (st.State === "rollback_completed") throw new Error(`${where}: service rollback completed: ${st.Message}`);
          if (st.State === "paused") throw new Error(`${where}: service update paused: ${st.Message}`);
          if (st.State === "rollback_paused") throw new Error(`${where}: service rollback paused: ${st.Message}`);
        } else {
          const replicas = s.Spec.Mode?.Replicated?.Replicas;
          const { running } = await runningTasks(docker, id);
          if (replicas === undefined || running === replicas) break;
        }
        if (Date.now() > deadline) throw new Error(`${where}: Service with ID (${id}) did not converge after ${conv.timeoutMs / 1000}s (update state ${st?.State ?? "none"})`);
        await sleep(2000);
      }
    }
    return { id, outputs: { ...oldOutputs, ...news } };
  },
  async delete(id, _outputs, _inputs, ctx) {
    await removeService(dockerClient(ctx.provider), id).catch((err) => {
      throw new Error(`${ctx.name} (docker Service): error deleting service ${id}: ${apiMessage(err)}`);
    });
  },
};

/**
 * Runs every mapping of a resource's inputs that needs no engine (nested keys, durations, modes,
 * upload contents, the service spec): what `create` would reject, found without creating anything.
 * Top-level keys are checked against `mappedInputs` separately (by the core, and by the tests).
 */
export async function checkDockerInputs(type: string, inputs: Record<string, any>, where: string): Promise<void> {
  switch (type) {
    case "docker:index/network:Network":
      (inputs.ipamConfigs ?? []).forEach((c: any, i: number) => strictKeys(c, ["subnet", "gateway", "ipRange", "auxAddress"], `${where} ipamConfigs[${i}]`));
      labelMap(inputs.labels, `${where} labels`);
      return;
    case "docker:index/volume:Volume":
    case "docker:index/secret:Secret":
      labelMap(inputs.labels, `${where} labels`);
      return;
    case "docker:index/container:Container":
      containerCreateOptions(inputs, inputs.name ?? where, where);
      (inputs.networksAdvanced ?? []).forEach((n: any, i: number) => strictKeys(n, ["name", "aliases", "ipv4Address", "ipv6Address"], `${where} networksAdvanced[${i}]`));
      await Promise.all((inputs.uploads ?? []).map((u: any, i: number) => uploadArchive(u, `${where} uploads[${i}]`)));
      if (inputs.wait && !inputs.healthcheck) throw new Error(`${where}: wait without a healthcheck fails in the provider`);
      return;
    case "docker:index/service:Service":
      serviceSpec(inputs, where);
      convergeOf(inputs, where);
      return;
    default:
      return;
  }
}

/** Handlers by type token, for the core's registry. */
/**
 * docker.getRegistryImage (kw:data_source_docker_registry_image.go): the registry's digest of a tag
 * (`sha256Digest`), which the program turns into RemoteImage pullTriggers so a moving tag is re-pulled.
 * No registry is reachable here: the engine the image is deployed to stands in for it, and the local
 * image's content id for the registry digest. Both change exactly when a new image is pushed (here:
 * built or tagged) under the same name, which is what the program relies on. An image that is not
 * there fails the apply, as a tag missing from a registry does.
 */
async function getRegistryImage(inputs: Record<string, any>, provider: ProviderRef): Promise<Record<string, any>> {
  const unknown = Object.keys(inputs).filter((k) => inputs[k] !== undefined && !["name", "insecureSkipVerify"].includes(k));
  if (unknown.length) throw new Error(`docker getRegistryImage: the applier does not map ${unknown.join(", ")}`);
  const info = await dockerClient(provider)
    .getImage(inputs.name)
    .inspect()
    .catch((err) => {
      throw new Error(`docker getRegistryImage: ${inputs.name} is not on the engine that stands in for its registry (${apiMessage(err)})`);
    });
  return { ...inputs, sha256Digest: info.Id };
}

export const dockerFunctions: FunctionRegistry = {
  "docker:index/getRegistryImage:getRegistryImage": getRegistryImage,
};

export const dockerHandlers: HandlerRegistry = {
  "docker:index/network:Network": network,
  "docker:index/volume:Volume": volume,
  "docker:index/remoteImage:RemoteImage": remoteImage,
  "docker:index/container:Container": container,
  "docker:index/serviceConfig:ServiceConfig": serviceConfig,
  "docker:index/secret:Secret": secret,
  "docker:index/service:Service": service,
};
