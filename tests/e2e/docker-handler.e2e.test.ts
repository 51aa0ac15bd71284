// The docker handlers of the e2e applier against a real, private Docker engine (tests/e2e/engine.sh):
// what each resource's inputs become on the engine, read back through the Engine API or from inside
// the containers. Needs root, docker.io and busybox-static (the test image is busybox on scratch).
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { PassThrough } from "stream";
import Docker from "dockerode";
import * as tar from "tar-stream";
import { dockerClient, dockerHandlers, goDurationNs, parseSshOpts, repoDigestOf } from "./apply/docker";
import { ApplyContext, ProviderRef } from "./apply/types";

const ENGINE = path.join(__dirname, "engine.sh");
const IMAGE = "twinstack-e2e/busybox:handler-test";
const BUSYBOX = "/bin/busybox";

let runDir: string;
let docker: Docker;
let provider: ProviderRef;
const lines: string[] = [];
const ctx = (name: string): ApplyContext => ({ provider, urn: `urn:pulumi:test::twinstack::${name}`, name, stack: "test", log: (m) => lines.push(m) });
const h = dockerHandlers;

async function buildTestImage(): Promise<void> {
  // busybox (static) on scratch, its applets installed as links; no registry needed.
  const pack = tar.pack();
  pack.entry(
    { name: "Dockerfile" },
    ["FROM scratch", "COPY busybox /bin/busybox", 'RUN ["/bin/busybox", "--install", "-s", "/bin"]', "RUN mkdir -p /tmp /www /etc && chmod 1777 /tmp", 'CMD ["sh"]', ""].join("\n"),
  );
  const bin = fs.readFileSync(BUSYBOX);
  pack.entry({ name: "busybox", mode: 0o755, size: bin.length }, bin);
  pack.finalize();
  const stream = await docker.buildImage(pack as any, { t: IMAGE });
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null, out: any[]) => {
      const failed = out?.find((o) => o.error);
      if (err || failed) reject(err ?? new Error(failed.error));
      else resolve();
    }),
  );
}

async function exec(c: Docker.Container, cmd: string[]): Promise<{ code: number; out: string }> {
  const e = await c.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await e.start({ hijack: true, stdin: false });
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on("data", (d: Buffer) => chunks.push(d));
  docker.modem.demuxStream(stream, sink, sink);
  await new Promise((r) => stream.on("end", r));
  const info = await e.inspect();
  return { code: info.ExitCode ?? -1, out: Buffer.concat(chunks).toString("utf8") };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

beforeAll(async () => {
  if (!fs.existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} missing: install the Debian package busybox-static (.ci/run does)`);
  runDir = fs.mkdtempSync("/tmp/tsdh.");
  execFileSync("bash", [ENGINE, "start", runDir], { stdio: ["ignore", "ignore", "inherit"] });
  provider = { urn: "urn:pulumi:test::twinstack::pulumi:providers:docker::local", type: "pulumi:providers:docker", inputs: { host: `unix://${runDir}/docker.sock` } };
  docker = dockerClient(provider);
  await buildTestImage();
}, 180_000);

afterAll(() => {
  if (runDir) execFileSync("bash", [ENGINE, "stop", runDir], { stdio: ["ignore", "ignore", "inherit"] });
}, 120_000);

describe("pure mappings", () => {
  test("Go durations become nanoseconds", () => {
    expect(goDurationNs("10s", "x")).toBe(10e9);
    expect(goDurationNs("1m30s", "x")).toBe(90e9);
    expect(goDurationNs("1h", "x")).toBe(3600e9);
    expect(goDurationNs("500ms", "x")).toBe(500e6);
    expect(() => goDurationNs("10", "healthcheck.interval")).toThrow(/healthcheck.interval.*duration/);
  });
  test("repo digest as the provider determines it", () => {
    expect(repoDigestOf("app:1", undefined)).toBe("");
    expect(repoDigestOf("app:1", ["app@sha256:aa"])).toBe("app@sha256:aa");
    expect(repoDigestOf("reg.example/app:1", ["other@sha256:bb", "reg.example/app@sha256:cc"])).toBe("reg.example/app@sha256:cc");
  });
  test("sshOpts of the program translate; unknown ones fail", () => {
    expect(parseSshOpts(["-o", "StrictHostKeyChecking=accept-new", "-o", "ServerAliveInterval=30"])).toEqual({ strictHostKeyChecking: "accept-new", keepaliveInterval: 30000 });
    expect(() => parseSshOpts(["-o", "ProxyJump=bastion"])).toThrow(/ProxyJump/);
  });
  test("provider inputs it does not map fail", () => {
    expect(() => dockerClient({ urn: "p", type: "pulumi:providers:docker", inputs: { host: "unix:///x.sock", certPath: "/c" } })).toThrow(/certPath/);
  });
});

describe("network, volume, image", () => {
  test("Network: name, driver, labels; removed on delete", async () => {
    const r = await h["docker:index/network:Network"].create({ name: "hn-net", driver: "bridge", labels: [{ label: "twinstack.env", value: "dev" }] }, ctx("net"));
    const info = await docker.getNetwork(r.id).inspect();
    expect(info.Name).toBe("hn-net");
    expect(info.Driver).toBe("bridge");
    expect(info.Labels).toEqual({ "twinstack.env": "dev" });
    expect(r.outputs.name).toBe("hn-net");
    await h["docker:index/network:Network"].delete(r.id, r.outputs, {}, ctx("net"));
    await expect(docker.getNetwork(r.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  test("Network: nested inputs it does not map fail", async () => {
    await expect(h["docker:index/network:Network"].create({ name: "hn-bad", ipamConfigs: [{ subnet: "10.1.0.0/24", bogus: 1 }] }, ctx("bad"))).rejects.toThrow(
      /ipamConfigs\[0\]\.bogus/,
    );
  });

  test("Volume: name and labels; id is the name; removed on delete", async () => {
    const r = await h["docker:index/volume:Volume"].create({ name: "hn-vol", labels: [{ label: "twinstack.env", value: "dev" }] }, ctx("vol"));
    expect(r.id).toBe("hn-vol");
    expect((await docker.getVolume("hn-vol").inspect()).Labels).toEqual({ "twinstack.env": "dev" });
    await h["docker:index/volume:Volume"].delete(r.id, r.outputs, {}, ctx("vol"));
    await expect(docker.getVolume("hn-vol").inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  test('RemoteImage: local lookup, imageId, repoDigest of a local image is ""; keepLocally keeps it, else removed', async () => {
    const ri = h["docker:index/remoteImage:RemoteImage"];
    const own = await docker.getImage(IMAGE).inspect();
    const r = await ri.create({ name: IMAGE, keepLocally: true }, ctx("img"));
    expect(r.outputs.imageId).toBe(own.Id);
    expect(r.outputs.repoDigest).toBe("");
    expect(r.id).toBe(own.Id + IMAGE);
    await ri.delete(r.id, r.outputs, { name: IMAGE, keepLocally: true }, ctx("img"));
    await expect(docker.getImage(IMAGE).inspect()).resolves.toBeTruthy();
    // A second tag of the same image, deleted without keepLocally: the tag goes, the image stays.
    await docker.getImage(IMAGE).tag({ repo: "twinstack-e2e/busybox", tag: "preview-x" });
    const tagged = await ri.create({ name: "twinstack-e2e/busybox:preview-x" }, ctx("img2"));
    await ri.delete(tagged.id, tagged.outputs, { name: "twinstack-e2e/busybox:preview-x" }, ctx("img2"));
    await expect(docker.getImage("twinstack-e2e/busybox:preview-x").inspect()).rejects.toMatchObject({ statusCode: 404 });
    await expect(ri.create({ name: "nowhere/none:1" }, ctx("img3"))).rejects.toThrow(/nowhere\/none:1 is not on the engine/);
  });
});

describe("Container", () => {
  const c = () => h["docker:index/container:Container"];
  let netId: string;

  beforeAll(async () => {
    netId = (await h["docker:index/network:Network"].create({ name: "hc-net", driver: "bridge" }, ctx("hc-net"))).id;
    await h["docker:index/volume:Volume"].create({ name: "hc-data" }, ctx("hc-data"));
  });

  test("every input the program sets reaches the engine, and the running container shows it", async () => {
    const port = await freePort();
    const r = await c().create(
      {
        name: "hc-web",
        image: IMAGE,
        entrypoints: ["/bin/sh", "-c"],
        command: ["touch /tmp/ok; exec httpd -f -p 8080 -h /www"],
        envs: ["APP_ENV=dev", "FEATURE_X=true"],
        labels: [
          { label: "twinstack.role", value: "web" },
          { label: "twinstack.env", value: "dev" },
        ],
        restart: "unless-stopped",
        networksAdvanced: [{ name: "hc-net", aliases: ["web", "www"] }],
        ports: [{ internal: 8080, external: port, ip: "127.0.0.1", protocol: "tcp" }],
        volumes: [
          { volumeName: "hc-data", containerPath: "/data" },
          { hostPath: runDir, containerPath: "/host", readOnly: true },
        ],
        uploads: [
          { file: "/www/index.html", content: "hello from upload\n" },
          { file: "/usr/local/bin/run.sh", content: "#!/bin/sh\necho ran\n", executable: true },
          { file: "/etc/secret.conf", contentBase64: Buffer.from("s3cret").toString("base64"), permissions: "0600" },
        ],
        capabilities: { adds: ["NET_ADMIN"], drops: ["MKNOD"] },
        cpus: "0.5",
        memory: 64,
        healthcheck: { tests: ["CMD-SHELL", "test -f /tmp/ok"], interval: "1s", timeout: "2s", retries: 3, startPeriod: "5s" },
        wait: true,
        waitTimeout: 30,
        mustRun: true,
        destroyGraceSeconds: 2,
      },
      ctx("web"),
    );
    expect(r.outputs.name).toBe("hc-web");
    const box = docker.getContainer(r.id);
    const info = await box.inspect();
    expect(info.State.Health?.Status).toBe("healthy");
    expect(info.Config.Env).toEqual(expect.arrayContaining(["APP_ENV=dev", "FEATURE_X=true"]));
    expect(info.Config.Labels).toEqual({ "twinstack.role": "web", "twinstack.env": "dev" });
    expect(info.Config.Entrypoint).toEqual(["/bin/sh", "-c"]);
    expect(info.HostConfig.RestartPolicy?.Name).toBe("unless-stopped");
    expect(info.HostConfig.NanoCpus).toBe(500_000_000);
    expect(info.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(info.HostConfig.CapAdd).toEqual(["NET_ADMIN"]);
    expect(info.HostConfig.CapDrop).toEqual(["MKNOD"]);
    expect(info.Config.Healthcheck).toMatchObject({ Test: ["CMD-SHELL", "test -f /tmp/ok"], Interval: 1e9, Timeout: 2e9, Retries: 3, StartPeriod: 5e9 });
    // networksAdvanced replaces the default bridge.
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual(["hc-net"]);
    expect(info.NetworkSettings.Networks["hc-net"].Aliases).toEqual(expect.arrayContaining(["web", "www"]));
    // The published port answers on 127.0.0.1 with the uploaded file.
    const res = await fetch(`http://127.0.0.1:${port}/index.html`);
    expect(await res.text()).toBe("hello from upload\n");
    // Upload modes: executable → 0744, permissions wins, plain → 0644.
    const modes = await exec(box, ["stat", "-c", "%a %n", "/www/index.html", "/usr/local/bin/run.sh", "/etc/secret.conf"]);
    expect(modes.out.trim().split("\n")).toEqual(["644 /www/index.html", "744 /usr/local/bin/run.sh", "600 /etc/secret.conf"]);
    expect((await exec(box, ["/usr/local/bin/run.sh"])).out).toBe("ran\n");
    // Volumes: the named one writable, the bind read-only.
    expect((await exec(box, ["sh", "-c", "echo x > /data/f && cat /data/f"])).out).toBe("x\n");
    expect((await exec(box, ["sh", "-c", "touch /host/nope"])).code).not.toBe(0);
    // Aliases resolve for another container on the network.
    const peer = await c().create({ name: "hc-peer", image: IMAGE, command: ["sleep", "600"], networksAdvanced: [{ name: "hc-net" }] }, ctx("peer"));
    const got = await exec(docker.getContainer(peer.id), ["wget", "-q", "-O", "-", "http://www:8080/index.html"]);
    expect(got.out).toBe("hello from upload\n");
    await c().delete(peer.id, peer.outputs, {}, ctx("peer"));

    // In place: restart and memory; the container id stays.
    const u = await c().update!(r.id, { restart: "unless-stopped", memory: 64 }, { restart: "always", memory: 96 }, r.outputs, ctx("web"));
    expect(u.id).toBe(r.id);
    const after = await box.inspect();
    expect(after.HostConfig.RestartPolicy?.Name).toBe("always");
    expect(after.HostConfig.Memory).toBe(96 * 1024 * 1024);
    // healthcheck cannot change in place: loud, not silently kept.
    await expect(c().update!(r.id, { healthcheck: { tests: ["CMD", "true"] } }, { healthcheck: { tests: ["CMD", "false"] } }, r.outputs, ctx("web"))).rejects.toThrow(
      /healthcheck changed/,
    );
    expect(c().replaceKeys).toEqual(expect.arrayContaining(["image", "envs", "uploads", "ports", "volumes", "networksAdvanced", "name"]));
    expect(c().replaceKeys).not.toContain("restart");

    await c().delete(r.id, r.outputs, { destroyGraceSeconds: 2 }, ctx("web"));
    await expect(box.inspect()).rejects.toMatchObject({ statusCode: 404 });
  }, 120_000);

  test("delete removes the container's anonymous volumes (removeVolumes defaults to true); removeVolumes false keeps them", async () => {
    const anon = async () => (await docker.listVolumes()).Volumes.filter((v) => /^[0-9a-f]{64}$/.test(v.Name)).map((v) => v.Name);
    const before = await anon();
    const r = await c().create({ name: "hc-anon", image: IMAGE, command: ["sleep", "600"], volumes: [{ containerPath: "/anon" }] }, ctx("anon"));
    const made = (await anon()).filter((v) => !before.includes(v));
    expect(made).toHaveLength(1);
    await c().delete(r.id, r.outputs, {}, ctx("anon"));
    expect(await anon()).toEqual(before);

    const kept = await c().create({ name: "hc-anon2", image: IMAGE, command: ["sleep", "600"], volumes: [{ containerPath: "/anon" }], removeVolumes: false }, ctx("anon2"));
    const made2 = (await anon()).filter((v) => !before.includes(v));
    await c().delete(kept.id, kept.outputs, { removeVolumes: false }, ctx("anon2"));
    expect(await anon()).toEqual(expect.arrayContaining(made2));
    for (const v of made2) await docker.getVolume(v).remove();
  }, 60_000);

  test("unnamed: Pulumi's auto-name (logical name + 7 hex digits); image given by id (RemoteImage.imageId, as the program passes it)", async () => {
    const imageId = (await docker.getImage(IMAGE).inspect()).Id;
    const r = await c().create({ image: imageId, command: ["sleep", "600"] }, ctx("hc-auto"));
    expect((await docker.getContainer(r.id).inspect()).Image).toBe(imageId);
    expect(r.outputs.name).toMatch(/^hc-auto-[0-9a-f]{7}$/);
    expect((await docker.getContainer(r.id).inspect()).Name).toBe(`/${r.outputs.name}`);
    await c().delete(r.id, r.outputs, {}, ctx("hc-auto"));
  });

  test("wait on a container that never gets healthy: the create fails after waitTimeout and the container is removed", async () => {
    await expect(
      c().create(
        {
          name: "hc-sick",
          image: IMAGE,
          command: ["sleep", "600"],
          restart: "unless-stopped",
          healthcheck: { tests: ["CMD", "false"], interval: "1s", timeout: "1s", retries: 1 },
          wait: true,
          waitTimeout: 4,
        },
        ctx("sick"),
      ),
    ).rejects.toThrow(/failed to be in healthy state within 4s \(health unhealthy/);
    expect(await docker.listContainers({ all: true, filters: { name: ["hc-sick"] } })).toHaveLength(0);
  }, 60_000);

  test("wait without a health check fails like the provider; an unknown nested input fails before anything is created", async () => {
    await expect(c().create({ name: "hc-nohc", image: IMAGE, command: ["sleep", "600"], wait: true }, ctx("nohc"))).rejects.toThrow(/does not have a healthcheck/);
    expect(await docker.listContainers({ all: true, filters: { name: ["hc-nohc"] } })).toHaveLength(0);
    await expect(c().create({ name: "hc-x", image: IMAGE, uploads: [{ file: "/a", content: "x", owner: "1000" }] }, ctx("x"))).rejects.toThrow(/uploads\[0\]\.owner/);
    expect(await docker.listContainers({ all: true, filters: { name: ["hc-x"] } })).toHaveLength(0);
  }, 30_000);

  test("a network with a container attached is refused by the engine (the delete retries, then surfaces it)", async () => {
    const r = await c().create({ name: "hc-holder", image: IMAGE, command: ["sleep", "600"], networksAdvanced: [{ name: "hc-net" }] }, ctx("holder"));
    const started = Date.now();
    await expect(h["docker:index/network:Network"].delete(netId, {}, {}, ctx("hc-net"))).rejects.toThrow(/active endpoints/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(30_000);
    await c().delete(r.id, r.outputs, {}, ctx("holder"));
    await h["docker:index/network:Network"].delete(netId, {}, {}, ctx("hc-net"));
    await h["docker:index/volume:Volume"].delete("hc-data", {}, {}, ctx("hc-data"));
  }, 90_000);
});

describe("Swarm: ServiceConfig, Secret, Service", () => {
  const svc = () => h["docker:index/service:Service"];
  let configId: string;
  let secretId: string;
  let serviceId: string;
  let port: number;

  beforeAll(async () => {
    await docker.swarmInit({ ListenAddr: "127.0.0.1:0", AdvertiseAddr: "127.0.0.1" } as any);
    port = await freePort();
  }, 60_000);

  // No published port here: a host-mode port and a start-first update deadlock on one node (the new
  // task cannot bind the port the old one holds); the port mapping has its own test below.
  const spec = (env: Record<string, string>, health: string[]) => ({
    name: "hs-app",
    labels: [{ label: "twinstack.role", value: "app" }],
    taskSpec: {
      containerSpec: {
        image: IMAGE,
        commands: ["/bin/sh", "-c", "touch /tmp/ok; exec httpd -f -p 8080 -h /www"],
        env,
        labels: [{ label: "twinstack.role", value: "app" }],
        healthcheck: { tests: health, interval: "1s", timeout: "2s", retries: 2, startPeriod: "2s" },
        mounts: [{ type: "volume", source: "hs-data", target: "/data" }],
        configs: [{ configId, configName: "hs-config-1", fileName: "/www/index.html", fileMode: 0o444 }],
        secrets: [{ secretId, secretName: "hs-secret-1", fileName: "/run/secrets/key", fileMode: 0o400 }],
        capAdds: ["NET_ADMIN"],
      },
      resources: { limits: { nanoCpus: 500_000_000, memoryBytes: 64 * 1024 * 1024 } },
      networksAdvanceds: [{ name: "hs-net", aliases: ["app"] }],
      placement: { constraints: ["node.role==manager"] },
      restartPolicy: { condition: "any", delay: "1s" },
    },
    mode: { replicated: { replicas: 1 } },
    updateConfig: { parallelism: 1, order: "start-first", failureAction: "rollback", monitor: "5s", delay: "1s" },
    rollbackConfig: { parallelism: 1, order: "stop-first", failureAction: "pause", monitor: "5s" },
    convergeConfig: { delay: "1s", timeout: "90s" },
  });

  /** The container of the service's one task that should run (an old one may still be stopping). */
  async function taskContainer(): Promise<Docker.Container> {
    const tasks: any[] = await docker.listTasks({ filters: { service: ["hs-app"], "desired-state": ["running"] } });
    const running = tasks.filter((t) => t.Status?.State === "running");
    expect(running).toHaveLength(1);
    return docker.getContainer(running[0].Status.ContainerStatus.ContainerID);
  }

  test("config, secret and a service converge with the declared task spec", async () => {
    const netInfo = await h["docker:index/network:Network"].create({ name: "hs-net", driver: "overlay", attachable: true }, ctx("hs-net"));
    expect(netInfo.outputs).toMatchObject({ driver: "overlay", scope: "swarm" });
    (netInfo as any).Id = netInfo.id;
    const cfg = await h["docker:index/serviceConfig:ServiceConfig"].create({ name: "hs-config-1", data: Buffer.from("served from a config\n").toString("base64") }, ctx("cfg"));
    const sec = await h["docker:index/secret:Secret"].create(
      { name: "hs-secret-1", data: Buffer.from("private").toString("base64"), labels: [{ label: "twinstack.env", value: "dev" }] },
      ctx("sec"),
    );
    configId = cfg.id;
    secretId = sec.id;
    expect((await docker.getSecret(secretId).inspect()).Spec?.Labels).toEqual({ "twinstack.env": "dev" });

    const r = await svc().create(spec({ APP_ENV: "dev" }, ["CMD-SHELL", "test -f /tmp/ok"]), ctx("hs-app"));
    serviceId = r.id;
    const s: any = await docker.getService(serviceId).inspect();
    const cs = s.Spec.TaskTemplate.ContainerSpec;
    expect(cs.Env).toEqual(["APP_ENV=dev"]);
    expect(cs.CapabilityAdd).toEqual(["NET_ADMIN"]);
    expect(cs.Healthcheck ?? cs.HealthCheck).toMatchObject({ Test: ["CMD-SHELL", "test -f /tmp/ok"], Interval: 1e9 });
    expect(s.Spec.TaskTemplate.Resources.Limits).toEqual({ NanoCPUs: 500_000_000, MemoryBytes: 64 * 1024 * 1024 });
    expect(s.Spec.TaskTemplate.Placement.Constraints).toEqual(["node.role==manager"]);
    expect(s.Spec.UpdateConfig).toMatchObject({ Parallelism: 1, Order: "start-first", FailureAction: "rollback", Monitor: 5e9 });
    expect(s.Spec.RollbackConfig).toMatchObject({ Order: "stop-first", FailureAction: "pause" });

    const box = await taskContainer();
    const inside = await exec(box, ["sh", "-c", "stat -c %a /www/index.html /run/secrets/key; cat /run/secrets/key; echo; echo $APP_ENV"]);
    expect(inside.out.trim().split("\n")).toEqual(["444", "400", "private", "dev"]);
    // The alias is in Swarm's DNS on the overlay network: "app" is the service's virtual IP there, and
    // "tasks.app" the task's own address, which serves the config. (Traffic to the virtual IP needs
    // the IPVS/iptables rules that this engine, run with --iptables=false, does not set up.)
    const vip = (s.Endpoint.VirtualIPs as any[]).find((v) => v.NetworkID === (netInfo as any).Id)?.Addr.split("/")[0];
    expect((await exec(box, ["nslookup", "app"])).out).toContain(vip);
    expect((await exec(box, ["wget", "-q", "-O", "-", "http://tasks.app:8080/index.html"])).out).toBe("served from a config\n");
  }, 180_000);

  test("endpointSpec: a host-mode published port answers on the host", async () => {
    const pub = {
      name: "hs-pub",
      taskSpec: { containerSpec: { image: IMAGE, commands: ["/bin/sh", "-c", "echo published > /www/index.html; exec httpd -f -p 8080 -h /www"] } },
      mode: { replicated: { replicas: 1 } },
      endpointSpec: { ports: [{ targetPort: 8080, publishedPort: port, protocol: "tcp", publishMode: "host" }] },
      convergeConfig: { delay: "1s", timeout: "60s" },
    };
    const r = await svc().create(pub, ctx("hs-pub"));
    const s: any = await docker.getService(r.id).inspect();
    expect(s.Spec.EndpointSpec.Ports).toEqual([expect.objectContaining({ TargetPort: 8080, PublishedPort: port, PublishMode: "host", Protocol: "tcp" })]);
    let body = "";
    for (let i = 0; i < 20 && body !== "published\n"; i++) {
      body = await fetch(`http://127.0.0.1:${port}/index.html`)
        .then((x) => x.text())
        .catch(() => "");
      if (body !== "published\n") await new Promise((res) => setTimeout(res, 500));
    }
    expect(body).toBe("published\n");
    await svc().delete(r.id, {}, {}, ctx("hs-pub"));
  }, 120_000);

  test("update in place rolls the task; a failing update is rolled back by Swarm and reported", async () => {
    const good = spec({ APP_ENV: "dev", APP_VERSION: "2" }, ["CMD-SHELL", "test -f /tmp/ok"]);
    const u = await svc().update!(serviceId, spec({ APP_ENV: "dev" }, ["CMD-SHELL", "test -f /tmp/ok"]), good, {}, ctx("hs-app"));
    expect(u.id).toBe(serviceId);
    const box = await taskContainer();
    expect((await exec(box, ["sh", "-c", "echo $APP_VERSION"])).out).toBe("2\n");

    const broken = spec({ APP_ENV: "dev", APP_VERSION: "3" }, ["CMD", "false"]);
    await expect(svc().update!(serviceId, good, broken, {}, ctx("hs-app"))).rejects.toThrow(/rollback completed/);
    const s: any = await docker.getService(serviceId).inspect();
    expect(s.Spec.TaskTemplate.ContainerSpec.Env).toEqual(expect.arrayContaining(["APP_VERSION=2"]));
    const again = await taskContainer();
    expect((await exec(again, ["sh", "-c", "echo $APP_VERSION"])).out).toBe("2\n");
  }, 240_000);

  test("a service that cannot converge fails its create and is removed", async () => {
    const bad = { ...spec({}, ["CMD", "false"]), name: "hs-never", endpointSpec: undefined, convergeConfig: { delay: "1s", timeout: "15s" } };
    await expect(svc().create(bad, ctx("hs-never"))).rejects.toThrow(/did not converge/);
    expect(await docker.listServices({ filters: { name: ["hs-never"] } })).toHaveLength(0);
  }, 90_000);

  test("delete removes the service, then its config, secret and network", async () => {
    await svc().delete(serviceId, {}, {}, ctx("hs-app"));
    expect(await docker.listServices({ filters: { name: ["hs-app"] } })).toHaveLength(0);
    await h["docker:index/serviceConfig:ServiceConfig"].delete(configId, {}, {}, ctx("cfg"));
    await h["docker:index/secret:Secret"].delete(secretId, {}, {}, ctx("sec"));
    await expect(docker.getConfig(configId).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await expect(docker.getSecret(secretId).inspect()).rejects.toMatchObject({ statusCode: 404 });
    const nets = await docker.listNetworks({ filters: { name: ["hs-net"] } });
    await h["docker:index/network:Network"].delete(nets[0].Id, {}, {}, ctx("hs-net"));
  }, 120_000);
});

describe("ssh:// hosts (what the multi-host lab's providers use)", () => {
  // A private sshd on 127.0.0.1 whose only key runs commands with DOCKER_HOST set to this engine:
  // the provider's `docker system dial-stdio` over SSH then reaches it, as on a remote host.
  let dir: string;
  let sshd: ChildProcess | undefined;
  let port: number;
  const sshProvider = (opts: string[], user = "root"): ProviderRef => ({
    urn: "urn:pulumi:test::twinstack::pulumi:providers:docker::remote",
    type: "pulumi:providers:docker",
    // Provider inputs are strings: the list comes JSON-encoded.
    inputs: { host: `ssh://${user}@127.0.0.1:${port}`, sshOpts: JSON.stringify(opts) },
  });

  beforeAll(async () => {
    dir = fs.mkdtempSync("/tmp/tsdh-ssh.");
    port = await freePort();
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/host_key`]);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/id`]);
    const pub = fs.readFileSync(`${dir}/id.pub`, "utf8").trim();
    fs.writeFileSync(`${dir}/authorized_keys`, `environment="DOCKER_HOST=unix://${runDir}/docker.sock" ${pub}\n`, { mode: 0o600 });
    fs.writeFileSync(
      `${dir}/sshd_config`,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${dir}/host_key`,
        `AuthorizedKeysFile ${dir}/authorized_keys`,
        `PidFile ${dir}/sshd.pid`,
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitUserEnvironment yes",
        "StrictModes no",
        "UsePAM no",
        "",
      ].join("\n"),
    );
    const hostPub = fs.readFileSync(`${dir}/host_key.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
    fs.writeFileSync(`${dir}/known_hosts`, `[127.0.0.1]:${port} ${hostPub}\n`);
    const other =
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/other_key`]) &&
      fs.readFileSync(`${dir}/other_key.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
    fs.writeFileSync(`${dir}/wrong_known_hosts`, `[127.0.0.1]:${port} ${other}\n`);
    // sshd's privilege separation directory (Debian's openssh-server creates it at boot).
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", `${dir}/sshd_config`], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    sshd.stderr?.on("data", (d) => (err += d));
    for (let i = 0; i < 50; i++) {
      const up = await new Promise<boolean>((res) => {
        const sock = net.connect(port, "127.0.0.1", () => {
          sock.end();
          res(true);
        });
        sock.on("error", () => res(false));
      });
      if (up) return;
      if (sshd.exitCode !== null) throw new Error(`sshd exited: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`sshd did not listen: ${err}`);
  }, 30_000);

  afterAll(async () => {
    if (sshd?.pid && sshd.exitCode === null) {
      sshd.kill("SIGTERM");
      await new Promise((r) => sshd!.once("exit", r));
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("ssh://user@host with a key and a known host: the handlers work on the remote engine", async () => {
    const p = sshProvider(["-i", `${dir}/id`, "-o", `UserKnownHostsFile=${dir}/known_hosts`, "-o", "StrictHostKeyChecking=yes", "-o", "ServerAliveInterval=30"]);
    const remote = dockerClient(p);
    expect((await remote.getImage(IMAGE).inspect()).Id).toBe((await docker.getImage(IMAGE).inspect()).Id);
    const sshCtx: ApplyContext = { ...ctx("ssh-vol"), provider: p };
    const r = await h["docker:index/volume:Volume"].create({ name: "hssh-vol", labels: [{ label: "via", value: "ssh" }] }, sshCtx);
    expect((await docker.getVolume("hssh-vol").inspect()).Labels).toEqual({ via: "ssh" });
    await h["docker:index/volume:Volume"].delete(r.id, r.outputs, {}, sshCtx);
    await expect(docker.getVolume("hssh-vol").inspect()).rejects.toMatchObject({ statusCode: 404 });
  }, 60_000);

  test("the program's sshOpts (accept-new) accept an unknown host; a known host with another key is refused", async () => {
    const fresh = sshProvider(["-i", `${dir}/id`, "-o", `UserKnownHostsFile=${dir}/none`, "-o", "StrictHostKeyChecking=accept-new", "-o", "ServerAliveInterval=30"]);
    await expect(dockerClient(fresh).version()).resolves.toMatchObject({ ApiVersion: expect.any(String) });
    const spoofed = sshProvider(["-i", `${dir}/id`, "-o", `UserKnownHostsFile=${dir}/wrong_known_hosts`, "-o", "StrictHostKeyChecking=accept-new"]);
    await expect(dockerClient(spoofed).version()).rejects.toThrow(/verification failed|Host denied/i);
  }, 60_000);
});
