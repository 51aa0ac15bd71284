// The multi-host lab (tests/e2e/lab/lab.sh): three hosts as network namespaces, each with its own
// dockerd and sshd. The program's own Swarm formation scripts (components/dockerHosts.ts) run over
// real SSH the way command:remote runs them, form a three-node Swarm, label the nodes, and a
// service placed by that label answers on its node only. Then the program itself, applied by the
// e2e applier (tests/e2e/apply/) over SSH, runs issue 12's scenarios on those hosts:
//  1. prod up: the lab's prod stack (tests/e2e/stacks/lab/Pulumi.prod.yaml: Swarm over h1..h3, a
//     keepalived VIP) forms/reuses the Swarm with its own init/join/label steps; the app's replicas
//     spread over the nodes; the proxy answers on the VIP with the stack's CA.
//  2. dev beside prod (the Gigi seed's shape): tests/e2e/stacks/lab/Pulumi.dev.yaml on the same
//     three nodes with its own VIP; each answers on its own VIP as its own env, and from inside each
//     env's app task the other env's Postgres and Redis are unreachable (its own are reachable).
//  6. VIP failover: stop the MASTER's proxy, then (after it is back) the MASTER's whole dockerd;
//     the VIP moves to a BACKUP and prod answers again; failoverSeconds is the longer gap seen by a
//     prober hitting the VIP every 200 ms (from its last good answer before the failures to its
//     first good one after), with a timeline of where the time went (the prober, every host's
//     keepalived log, the MASTER proxy's container events); then the MASTER comes back and takes
//     the VIP again.
//  3. good release under load: prod's app image goes from probe:1 to probe:2 (the same stack file
//     with app.image changed) while a bounded prober (GET /version on the VIP every 100 ms, at most
//     3000 requests and 400 s) runs; goodReleaseFailedRequests counts its failures (goal 0) and
//     every answer after the apply returned is the new version.
//  4. bad release under load: prod's app image goes to probe:bad (its health check never passes)
//     while the bounded prober runs; the apply fails with Swarm's rollback, Swarm put the previous
//     spec back by itself (UpdateStatus rollback_completed, the old image), and every answer came
//     from the old version (badReleaseFailedRequests, goal 0; badReleaseRolledBack).
//  5. proxy change under load: a second domain joins prod's site (Caddyfile and certificate change)
//     while the prober runs; the apply rolls the VIP-bound proxies, the new name answers on the VIP
//     afterwards (proxyChangeFailedRequests, goal 0; proxyChangeSeconds: the apply's duration).
// Finally the lab goes down leaving nothing.
import { execFile, execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { swarmInitScript, swarmJoinScript, swarmLabelScript } from "../../components/dockerHosts";
import { applyStack } from "./apply/engine";
import { handlers } from "./apply";
import { REPO, httpsGet, mergeSummary, progress } from "./support";
import { SecretValue } from "../harness";

const reveal = (v: unknown) => (v instanceof SecretValue ? v.value : v);

const LAB = path.join(__dirname, "lab", "lab.sh");
const BUSYBOX = "/bin/busybox";
const PROD_STACK_FILE = path.join(REPO, "tests", "e2e", "stacks", "lab", "Pulumi.prod.yaml");
const PROJECT_FILE = path.join(REPO, "Pulumi.yaml");
const DEV_STACK_FILE = path.join(REPO, "tests", "e2e", "stacks", "lab", "Pulumi.dev.yaml");
const PROD_DOMAIN = "myapp.lab.localhost";
const DEV_DOMAIN = "dev.myapp.lab.localhost";
/** The stand-ins (tests/e2e/images/build.sh) the lab's stacks run, copied into every lab host. */
const LAB_IMAGES = [
  "twinstack-e2e/probe:1",
  "twinstack-e2e/probe:2",
  "twinstack-e2e/probe:bad",
  "twinstack-e2e/busybox:1",
  "twinstack-e2e/postgres:15",
  "twinstack-e2e/redis:7",
  "twinstack-e2e/caddy:2",
  "twinstack-e2e/keepalived:2",
];

interface Lab {
  dir: string;
  hosts: string[];
  env: NodeJS.ProcessEnv;
  /** The lab subnet's first three octets (10.N.0). */
  net: string;
}

function labUp(): Lab {
  const out = execFileSync("bash", [LAB, "up", "", "3"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const vars: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line);
    if (m) vars[m[1]] = m[2].replace(/^'(.*)'$/, "$1");
  }
  // The addresses as lab.sh recorded them (its export lines are shell-quoted).
  const dir = vars.LAB_DIR;
  const addresses = /^ADDRESSES=(.*)$/m.exec(fs.readFileSync(path.join(dir, "lab.env"), "utf8"))![1].split(" ");
  const net = addresses[0].split(".").slice(0, 3).join(".");
  return { dir, hosts: addresses, net, env: { ...process.env, SSH_AUTH_SOCK: path.join(dir, "agent.sock") } };
}

/** Runs a script on a lab host over SSH, as command:remote does (the script as the command, stdin as given). */
function onHost(lab: Lab, host: string, script: string, stdin = ""): string {
  const r = spawnSync("ssh", ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", `root@${host}`, script], { input: stdin, encoding: "utf8", env: lab.env });
  if (r.status !== 0) throw new Error(`ssh root@${host} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** A one-binary image (Debian's busybox-static) imported into each host: no registry is reachable. */
function importBusybox(lab: Lab): void {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-bb-"));
  try {
    fs.mkdirSync(path.join(root, "bin"));
    fs.mkdirSync(path.join(root, "www"));
    fs.copyFileSync(BUSYBOX, path.join(root, "bin", "busybox"));
    fs.chmodSync(path.join(root, "bin", "busybox"), 0o755);
    for (const applet of ["sh", "httpd", "hostname"]) fs.symlinkSync("busybox", path.join(root, "bin", applet));
    const tar = execFileSync("tar", ["-C", root, "-c", "."], { maxBuffer: 64 * 1024 * 1024 });
    lab.hosts.forEach((_, i) => {
      execFileSync("docker", ["-H", `unix://${lab.dir}/h${i + 1}/docker.sock`, "import", "-", "twinstack-lab/busybox:1"], { input: tar, stdio: ["pipe", "ignore", "inherit"] });
    });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function httpGet(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

async function until<T>(what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds}s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The lab copy of a stack file: LAB_HOST_n and LAB_VIP replaced by the lab's addresses. */
function labStackFile(lab: Lab, source: string, vip: string, dest: string): string {
  let text = fs.readFileSync(source, "utf8");
  lab.hosts.forEach((addr, i) => (text = text.split(`LAB_HOST_${i + 1}`).join(addr)));
  text = text.split("LAB_VIP").join(vip);
  if (/LAB_(HOST_[0-9]|VIP)/.test(text.replace(/^\s*#.*$/gm, ""))) throw new Error(`${source}: a LAB_ placeholder is left (the lab has ${lab.hosts.length} hosts)`);
  fs.writeFileSync(dest, text);
  return dest;
}

/** Runs a script on a lab host over SSH without blocking the event loop (a prober runs meanwhile). */
function onHostAsync(lab: Lab, host: string, script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "ssh",
      ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", `root@${host}`, script],
      { env: lab.env, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => (err ? reject(new Error(`ssh root@${host} failed: ${stderr || err.message}`)) : resolve(stdout)),
    );
  });
}

/**
 * Which lab host holds `vip` on its eth0 now (undefined: none). Asynchronous: a synchronous ssh
 * here would stall the failover prober's requests and timers and lengthen the gap it measures.
 */
async function vipHolder(lab: Lab, vip: string): Promise<string | undefined> {
  const held = await Promise.all(
    lab.hosts.map((h) =>
      onHostAsync(lab, h, "ip -4 -o addr show dev eth0").then(
        (out) => out.includes(` ${vip}/`),
        () => false,
      ),
    ),
  );
  return lab.hosts.find((_, i) => held[i]);
}

/**
 * A bounded prober: GET `path` on the VIP every `everyMs` (each with a 1 s timeout) until stopped
 * or `maxRequests`/`maxSeconds` are reached; only ever the lab's VIP. Records each answer.
 */
function startProber(get: () => Promise<{ status: number; body: string }>, opts: { everyMs: number; maxRequests: number; maxSeconds: number }) {
  const results: Array<{ at: number; ok: boolean; body: string; ms: number; status?: number; error?: string }> = [];
  let stopped = false;
  const deadline = Date.now() + opts.maxSeconds * 1000;
  const done = (async () => {
    while (!stopped && results.length < opts.maxRequests && Date.now() < deadline) {
      const at = Date.now();
      let error: string | undefined;
      const r = await get().catch((e) => {
        error = e instanceof Error ? e.message : String(e);
        return undefined;
      });
      results.push({ at, ok: r?.status === 200, body: r?.body ?? "", ms: Date.now() - at, status: r?.status, error });
      const wait = opts.everyMs - (Date.now() - at);
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    }
  })();
  return {
    results,
    async stop() {
      stopped = true;
      await done;
      return results;
    },
  };
}

type ProbeResult = { at: number; ok: boolean; body: string; ms: number; status?: number; error?: string };

/**
 * Watches, on every lab host, what the prod proxy's container resolves its upstream name to (the
 * Docker embedded DNS answer, `getent ahostsv4` inside the Caddy container), printing a line only
 * when the set changes, until stopped. For the release scenarios: a failed request through the VIP
 * is explained by which task addresses the proxy dialled and when each task stopped.
 */
function watchUpstreamNames(lab: Lab, since: number) {
  const stopFile = `/tmp/twinstack-lab-watch-${process.pid}-${since}`;
  const script = (i: number) =>
    `c=myapp-prod-caddy-h${i}; name=$(docker exec $c sh -c "grep -o 'reverse_proxy [^ ]*' /etc/caddy/Caddyfile | head -1 | cut -d' ' -f2 | cut -d: -f1"); ` +
    `last=; while [ ! -e ${stopFile} ]; do now=$(date +%s%3N); cur=$(docker exec $c getent ahostsv4 "$name" 2>&1 | awk '{print $1}' | sort -u | tr '\\n' ' '); ` +
    `if [ "$cur" != "$last" ]; then echo "+$((now - ${since})) $name: $cur"; last=$cur; fi; sleep 1; done`;
  const watchers = lab.hosts.map((h, i) => onHostAsync(lab, h, script(i + 1)).catch((e) => String(e)));
  return {
    async stop(): Promise<string[]> {
      fs.writeFileSync(stopFile, "");
      try {
        return await Promise.all(watchers);
      } finally {
        fs.rmSync(stopFile, { force: true });
      }
    },
  };
}

/**
 * Prints, after a release scenario with failed requests, where they went: each failed request
 * (ms after `since`, how long it took, status or error), the app's tasks with their addresses and
 * states, every host's app container events and the proxy's error log lines, and what each proxy
 * resolved the upstream name to over time (watchUpstreamNames). All times in ms after `since`.
 */
async function releaseDiagnosis(lab: Lab, what: string, since: number, results: ProbeResult[], names: string[]): Promise<void> {
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) return;
  progress(`${what}: failed requests ${failed.map((r) => `+${r.at - since} (${r.ms} ms, ${r.status ?? r.error ?? "?"})`).join("; ")}`);
  const rel = (line: string) => {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) (.*)$/.exec(line);
    if (m) return `+${Date.parse(m[1]) - since} ${m[2]}`;
    const n = /^(\d{19}) (.*)$/.exec(line);
    return n ? `+${Math.round(Number(n[1]) / 1e6) - since} ${n[2]}` : line;
  };
  const tasks = await onHostAsync(
    lab,
    lab.hosts[0],
    "docker inspect --format '{{.ID}} {{.NodeID}} {{.Spec.ContainerSpec.Image}} desired={{.DesiredState}} state={{.Status.State}} {{.Status.Timestamp}} {{range .NetworksAttachments}}{{.Network.Spec.Name}}={{.Addresses}} {{end}}' $(docker service ps -q myapp-prod-app)",
  ).catch((e) => String(e));
  progress(`${what}: app tasks\n  ${tasks.trim().split("\n").join("\n  ")}`);
  const sinceArg = Math.floor((since - 2000) / 1000);
  for (const [i, h] of lab.hosts.entries()) {
    const events = await onHostAsync(
      lab,
      h,
      `docker events --since ${sinceArg} --until $(date +%s) --filter type=container --filter label=com.docker.swarm.service.name=myapp-prod-app --format '{{.TimeNano}} {{.Action}} {{.Actor.Attributes.name}}' | grep -v exec_`,
    ).catch((e) => String(e));
    progress(`${what}: h${i + 1} app container events\n  ${events.trim().split("\n").map(rel).join("\n  ")}`);
    const errors = await onHostAsync(
      lab,
      h,
      `docker logs -t --since ${new Date(since - 2000).toISOString()} myapp-prod-caddy-h${i + 1} 2>&1 | grep -i 'error\\|dial\\|upstream' | tail -40`,
    ).catch((e) => String(e));
    progress(`${what}: h${i + 1} proxy errors\n  ${errors.trim().split("\n").map(rel).join("\n  ")}`);
    progress(`${what}: h${i + 1} proxy's upstream name\n  ${(names[i] ?? "").trim().split("\n").join("\n  ")}`);
  }
}

/**
 * Waits until prod's Swarm has settled, and has stayed settled for `stableSeconds`: every node
 * Ready and Active with exactly one raft leader; every prod service at its replica count
 * (`docker service ls` "n/n"; jobs aside); the app's tasks desired running are all running; and every host's proxy
 * resolves its upstream name to exactly those tasks' addresses on prod's network (the Docker DNS
 * answer inside the Caddy container). The same leader and the same tasks throughout the window:
 * a leader election or a task replaced restarts it. Returns the seconds it took; throws with the
 * last state after `timeoutSeconds`.
 *
 * Why: after a manager's dockerd restarts (scenario 6) Swarm keeps changing things for a minute
 * or more: the restarted node's task comes back through its restart delay and health check, and a
 * leader election can mark the other nodes down and restart their tasks, which stops them first
 * (the restart supervisor, moby/swarmkit#607). A release started in that window measured Swarm's
 * recovery, not the release: in one run both old tasks on h2 and h3 were stopped at once by the
 * restart path and the app's name resolved to nothing for 11 s.
 */
async function awaitSwarmSettled(lab: Lab, what: string, opts: { stableSeconds: number; timeoutSeconds: number }): Promise<number> {
  const started = Date.now();
  const deadline = started + opts.timeoutSeconds * 1000;
  let stableSince: number | undefined;
  let lastSignature = "";
  let lastState = "";
  // What the wait saw, each state once in order with its first time (ms after the start): the printed story of a recovery.
  const seen: string[] = [];
  for (;;) {
    const problems: string[] = [];
    let signature = "";
    try {
      const out = await onHostAsync(
        lab,
        lab.hosts[0],
        "docker node ls --format '{{.ID}} {{.Status}} {{.Availability}} {{.ManagerStatus}}'; echo ---; " +
          "docker service ls --format '{{.Name}} {{.Replicas}}'; echo ---; " +
          "docker inspect --format '{{.ID}} {{.Status.State}} {{range .NetworksAttachments}}{{if eq .Network.Spec.Name \"myapp-prod-net\"}}{{range .Addresses}}{{.}} {{end}}{{end}}{{end}}' " +
          "$(docker service ps -q --filter desired-state=running myapp-prod-app)",
      );
      const [nodesText, servicesText, tasksText] = out.split("---\n");
      const nodes = nodesText.trim().split("\n");
      const leaders = nodes.filter((n) => / Leader$/.test(n));
      if (leaders.length !== 1) problems.push(`${leaders.length} raft leaders`);
      for (const n of nodes) if (!/^\S+ Ready Active\b/.test(n)) problems.push(`node ${n}`);
      // Prod's long-running services; a job (a release task) shows "0/1 (1/1 completed)" and is not one.
      for (const line of servicesText
        .trim()
        .split("\n")
        .filter((x) => x.startsWith("myapp-prod-") && !/completed\)$/.test(x))) {
        const m = /^(\S+) (\d+)\/(\d+)/.exec(line);
        if (!m || m[2] !== m[3]) problems.push(`service ${line}`);
      }
      const tasks = tasksText
        .trim()
        .split("\n")
        .map((t) => t.trim().split(/\s+/));
      for (const t of tasks) if (t[1] !== "running") problems.push(`app task ${t.join(" ")}`);
      const addresses = tasks
        .flatMap((t) => t.slice(2))
        .map((a) => a.replace(/\/\d+$/, ""))
        .sort();
      const resolved = await Promise.all(
        lab.hosts.map((h, i) =>
          onHostAsync(
            lab,
            h,
            `c=myapp-prod-caddy-h${i + 1}; name=$(docker exec $c sh -c "grep -o 'reverse_proxy [^ ]*' /etc/caddy/Caddyfile | head -1 | cut -d' ' -f2 | cut -d: -f1"); ` +
              `docker exec $c getent ahostsv4 "$name" | awk '{print $1}' | sort -u`,
          ).catch(() => "(no answer)"),
        ),
      );
      resolved.forEach((r, i) => {
        const got = r.trim().split("\n").filter(Boolean).sort();
        if (got.join(" ") !== addresses.join(" ")) problems.push(`h${i + 1}'s proxy resolves the app to [${got.join(" ")}], its tasks are [${addresses.join(" ")}]`);
      });
      signature = `${leaders.join()} ${tasks
        .map((t) => t[0])
        .sort()
        .join()}`;
      lastState = problems.length ? problems.join("; ") : `settled: leader ${leaders[0]}, app tasks ${addresses.join(" ")}`;
    } catch (err) {
      problems.push(String(err));
      lastState = problems.join("; ");
    }
    const now = Date.now();
    const state = `${signature} ${lastState}`;
    if (!seen.some((x) => x.endsWith(` ${state}`))) seen.push(`+${now - started} ${state}`);
    if (problems.length > 0) stableSince = undefined;
    else if (stableSince === undefined || signature !== lastSignature) stableSince = now;
    lastSignature = signature;
    if (stableSince !== undefined && now - stableSince >= opts.stableSeconds * 1000) {
      const seconds = Math.round((now - started) / 100) / 10;
      progress(`${what}: the Swarm settled in ${seconds} s (${lastState})${seen.length > 1 ? `; on the way:\n  ${seen.join("\n  ")}` : ""}`);
      return seconds;
    }
    if (now > deadline) throw new Error(`${what}: the Swarm did not settle within ${opts.timeoutSeconds} s: ${lastState}; on the way:\n  ${seen.join("\n  ")}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** Seconds from `since` until the first good answer after the last failed one (0: none failed). */
function outageSeconds(results: Array<{ at: number; ok: boolean }>, since: number): number {
  const after = results.filter((r) => r.at >= since);
  const lastFail = after.map((r) => !r.ok).lastIndexOf(true);
  if (lastFail < 0) return 0;
  const recovered = after.slice(lastFail + 1).find((r) => r.ok);
  if (!recovered) return Number.POSITIVE_INFINITY;
  return Math.round((recovered.at - since) / 100) / 10;
}

describe("multi-host lab: the program forms a Swarm over SSH on three real Docker hosts", () => {
  let lab: Lab | undefined;
  let labN: string | undefined;
  let labTag: string | undefined;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-lab-"));
  const prodState = path.join(work, "prod.state.json");
  let prodCa = "";
  let prodVip = "";
  let prodUp = false;
  const devState = path.join(work, "dev.state.json");

  beforeAll(() => {
    lab = labUp();
    // The operator's agent, as for any existing host: the program's SSH steps and ssh:// Docker hosts use it.
    process.env.SSH_AUTH_SOCK = lab.env.SSH_AUTH_SOCK;
    const env = fs.readFileSync(path.join(lab.dir, "lab.env"), "utf8");
    labN = /^N=(.*)$/m.exec(env)?.[1];
    labTag = /^TAG=(.*)$/m.exec(env)?.[1];
    importBusybox(lab);
    execFileSync("bash", [LAB, "load", lab.dir, ...LAB_IMAGES], { stdio: ["ignore", "inherit", "inherit"] });
  }, 1_200_000);

  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
    if (!lab) return;
    // The stacks go with the lab: lab.sh down stops every host's dockerd and removes its data.
    execFileSync("bash", [LAB, "down", lab.dir], { stdio: "inherit" });
    const left = Number(execFileSync("bash", [LAB, "leftovers", lab.dir], { encoding: "utf8", env: { ...process.env, TWINSTACK_LAB_N: labN, TWINSTACK_LAB_TAG: labTag } }).trim());
    mergeSummary({ labLeftovers: left });
    expect(left).toBe(0);
  }, 180_000);

  it("init, join and label run idempotently, and a service placed by label answers only on its node", async () => {
    const l = lab!;
    const [first, ...others] = l.hosts;
    const managerId = onHost(l, first, swarmInitScript(first)).trim();
    const token = onHost(l, first, "docker swarm join-token -q worker").trim();
    const nodeIds = [managerId, ...others.map((h) => onHost(l, h, swarmJoinScript(h, first), `${token}\n`).trim())];
    l.hosts.forEach((_, i) => onHost(l, first, swarmLabelScript(`h${i + 1}`, nodeIds[i])));

    // A second run changes nothing: the same node ids, no second swarm.
    expect(onHost(l, first, swarmInitScript(first)).trim()).toBe(managerId);
    expect(onHost(l, others[0], swarmJoinScript(others[0], first), `${token}\n`).trim()).toBe(nodeIds[1]);

    const nodes = onHost(l, first, "docker node ls --format '{{.ID}} {{.Status}}'").trim().split("\n");
    expect(nodes).toHaveLength(3);
    expect(nodes.every((n) => n.endsWith(" Ready"))).toBe(true);
    const labels = nodeIds.map((id) => onHost(l, first, `docker node inspect --format '{{index .Spec.Labels "twinstack.host"}}' ${id}`).trim());
    expect(labels).toEqual(["h1", "h2", "h3"]);
    mergeSummary({ swarmNodes: nodes.length });

    // Pinned like the program pins services with node-local data: node.labels.twinstack.host==h2.
    onHost(
      l,
      first,
      "docker service create -q --name pinned --constraint node.labels.twinstack.host==h2 --publish mode=host,target=80,published=18080 " +
        "twinstack-lab/busybox:1 sh -c 'hostname > /www/index.html; exec httpd -f -p 80 -h /www'",
    );
    await until("the pinned service answers on h2", 60, () => httpGet(`http://${l.hosts[1]}:18080/`));
    expect(await httpGet(`http://${l.hosts[0]}:18080/`)).toBeUndefined();
    expect(await httpGet(`http://${l.hosts[2]}:18080/`)).toBeUndefined();
    onHost(l, first, "docker service rm pinned >/dev/null");
  }, 240_000);
  it("1. prod up: the program forms (reuses) the Swarm over SSH, spreads the app's replicas, and the proxy answers on the VIP", async () => {
    const l = lab!;
    prodVip = `${l.net}.50`;
    const configFile = labStackFile(l, PROD_STACK_FILE, prodVip, path.join(work, "Pulumi.prod.yaml"));
    const started = Date.now();
    const result = await applyStack({ stack: "prod", configFile, projectFile: PROJECT_FILE, stateFile: prodState, handlers, log: (line) => progress(`prod: ${line}`) });
    prodCa = String(result.outputs.caCertificate);

    const nodes = onHost(l, l.hosts[0], "docker node ls --format '{{.Hostname}} {{.Status}}'").trim().split("\n");
    expect(nodes).toHaveLength(3);
    // By node ID: the lab's hosts share this machine's hostname, so `docker service ps`'s NODE column does not tell them apart.
    const placed = onHost(l, l.hosts[0], "docker inspect --format '{{.NodeID}} {{.Status.State}}' $(docker service ps -q --filter desired-state=running myapp-prod-app)")
      .trim()
      .split("\n");
    progress(`prod: app tasks ${JSON.stringify(placed)}`);
    expect(placed).toHaveLength(3);
    expect(new Set(placed.map((p) => p.split(" ")[0])).size).toBe(3);

    const answer = await until("prod's site to answer 200 on the VIP", 180, async () => {
      const a = await httpsGet({ host: PROD_DOMAIN, port: 443, path: "/", ca: prodCa, address: prodVip, timeoutMs: 5000 }).catch(() => undefined);
      return a?.status === 200 ? a : undefined;
    });
    progress(`prod: up on ${prodVip} in ${Math.round((Date.now() - started) / 1000)} s: ${answer.body.slice(0, 80)}`);
    const rows = await httpsGet({ host: PROD_DOMAIN, port: 443, path: "/rows", ca: prodCa, address: prodVip });
    const redis = await httpsGet({ host: PROD_DOMAIN, port: 443, path: "/redis", ca: prodCa, address: prodVip });
    prodUp = answer.body.startsWith("probe") && rows.status === 200 && redis.status === 200 && JSON.parse(redis.body).ok === true;
    mergeSummary({ prodUp });
    expect(answer.body.startsWith("probe")).toBe(true);
    expect(rows.status).toBe(200);
    expect(JSON.parse(redis.body)).toMatchObject({ ok: true });
  }, 900_000);
  it("2. prod and dev side by side on the same three nodes: each on its own VIP as its own env; neither reaches the other's Postgres or Redis", async () => {
    expect(prodUp).toBe(true);
    const l = lab!;
    const devVip = `${l.net}.51`;
    const configFile = labStackFile(l, DEV_STACK_FILE, devVip, path.join(work, "Pulumi.dev.yaml"));
    const result = await applyStack({ stack: "dev", configFile, projectFile: PROJECT_FILE, stateFile: devState, handlers, log: (line) => progress(`dev: ${line}`) });
    const devCa = String(result.outputs.caCertificate);
    const devPassword = String((reveal(result.outputs.basicAuthPasswords) as Record<string, string>).dev);
    const devGet = (p: string, auth = true) =>
      httpsGet({ host: DEV_DOMAIN, port: 443, path: p, ca: devCa, address: devVip, timeoutMs: 5000, auth: auth ? { user: "dev", password: devPassword } : undefined });
    await until("dev's site to answer 200 on its VIP", 180, async () => ((await devGet("/").catch(() => undefined))?.status === 200 ? true : undefined));
    expect((await devGet("/", false)).status).toBe(401);
    const devEnv = JSON.parse((await devGet("/env")).body);
    const prodEnv = JSON.parse((await httpsGet({ host: PROD_DOMAIN, port: 443, path: "/env", ca: prodCa, address: prodVip })).body);
    expect(devEnv.APP_ENV).toBe("dev");
    expect(prodEnv.APP_ENV).toBe("prod");
    // Each VIP serves its own env only: dev's name is not a site on prod's VIP (no certificate for it there).
    await expect(httpsGet({ host: DEV_DOMAIN, port: 443, path: "/", ca: devCa, address: prodVip, timeoutMs: 5000 })).rejects.toThrow();

    // From inside one app task of each env: TCP to the other env's Postgres (container) and Redis
    // (task) on their overlay addresses, and to its own as the control that the check can succeed.
    const addrOf = (host: string, filter: string) =>
      onHost(l, host, `for c in $(docker ps -q --filter ${filter}); do docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$c"; done`)
        .trim()
        .split(/\s+/)
        .filter(Boolean);
    const targets = (env: string) => ({
      postgres: l.hosts.flatMap((h) => addrOf(h, `name=myapp-${env}-postgres`)),
      redis: l.hosts.flatMap((h) => addrOf(h, `label=com.docker.swarm.service.name=myapp-${env}-redis`)),
    });
    const reach = (env: string, ips: string[], port: number): boolean[] => {
      const host = l.hosts.find((h) => onHost(l, h, `docker ps -q --filter label=com.docker.swarm.service.name=myapp-${env}-app`).trim())!;
      const id = onHost(l, host, `docker ps -q --filter label=com.docker.swarm.service.name=myapp-${env}-app`).trim().split("\n")[0];
      const py = `import socket,sys\nfor ip in sys.argv[2:]:\n  try:\n    socket.create_connection((ip,int(sys.argv[1])),3).close(); print('ok')\n  except Exception: print('no')`;
      return onHost(l, host, `docker exec ${id} python3 -c "$(cat)" ${port} ${ips.join(" ")}`, py)
        .trim()
        .split("\n")
        .map((x) => x === "ok");
    };
    const prodT = targets("prod");
    const devT = targets("dev");
    progress(`isolation: prod ${JSON.stringify(prodT)} dev ${JSON.stringify(devT)}`);
    for (const t of [prodT, devT]) {
      expect(t.postgres.length).toBeGreaterThan(0);
      expect(t.redis.length).toBeGreaterThan(0);
    }
    const crossing = [...reach("prod", devT.postgres, 5432), ...reach("prod", devT.redis, 6379), ...reach("dev", prodT.postgres, 5432), ...reach("dev", prodT.redis, 6379)];
    const own = [...reach("prod", prodT.postgres, 5432), ...reach("prod", prodT.redis, 6379), ...reach("dev", devT.postgres, 5432), ...reach("dev", devT.redis, 6379)];
    progress(`isolation: across envs ${JSON.stringify(crossing)}; own ${JSON.stringify(own)}`);
    const devAndProdSideBySide = crossing.every((r) => !r) && own.every((r) => r) && devEnv.APP_ENV === "dev" && prodEnv.APP_ENV === "prod";
    mergeSummary({ devAndProdSideBySide });
    expect(crossing.every((r) => !r)).toBe(true);
    expect(own.every((r) => r)).toBe(true);
  }, 900_000);
  it("6. VIP failover: the MASTER's proxy stops, then its dockerd; the VIP moves, prod answers again, and the MASTER takes it back", async () => {
    expect(prodUp).toBe(true);
    const l = lab!;
    const get = () => httpsGet({ host: PROD_DOMAIN, port: 443, path: "/", ca: prodCa, address: prodVip, timeoutMs: 1000 });
    const master = await until("a host to hold prod's VIP", 60, async () => vipHolder(l, prodVip));
    const index = l.hosts.indexOf(master) + 1;
    progress(`failover: MASTER is h${index} (${master})`);
    const gaps: Record<string, number> = {};
    /**
     * The gap clients saw: from the last good answer before the first failure after `since` to the
     * first good answer after the last failure (an upper bound: the outage began after that good
     * answer started). Not from `since`: the fault is an SSH session plus a docker command, which
     * took ~1.9 s on this loaded machine before the proxy received its stop signal (its `kill`
     * event); counting that would charge the test's own latency to the failover.
     */
    const clientGapSeconds = (results: Array<{ at: number; ok: boolean }>, since: number): number => {
      const firstFail = results.findIndex((r) => r.at >= since && !r.ok);
      if (firstFail < 0) return 0;
      const lastFail = results.map((r) => !r.ok).lastIndexOf(true);
      const recovered = results.slice(lastFail + 1).find((r) => r.ok);
      if (!recovered) return Number.POSITIVE_INFINITY;
      const lastGood =
        results
          .slice(0, firstFail)
          .reverse()
          .find((r) => r.ok) ?? results[firstFail];
      return Math.round((recovered.at - lastGood.at) / 100) / 10;
    };
    const sh = (args: string[]) =>
      new Promise<void>((resolve, reject) =>
        execFile("bash", [LAB, ...args], { encoding: "utf8" }, (err, _o, stderr) => (err ? reject(new Error(`lab.sh ${args.join(" ")}: ${stderr}`)) : resolve())),
      );

    /**
     * Where the gap goes: the prober's answers as runs of ok/failed, and every host's keepalived log
     * and the MASTER's container events since the fault, all in ms after the fault (one clock: the
     * lab's hosts are namespaces of this machine).
     */
    const timeline = async (what: string, since: number, results: Array<{ at: number; ok: boolean }>) => {
      const runs: string[] = [];
      for (const r of results.filter((x) => x.at >= since - 1000)) {
        const label = r.ok ? "ok" : "FAIL";
        const last = runs[runs.length - 1];
        if (!last || !last.startsWith(label + "@")) runs.push(`${label}@${r.at - since}`);
      }
      progress(`failover (${what}) timeline: prober ${runs.join(" ")}`);
      const rel = (line: string) => {
        const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) (.*)$/.exec(line);
        return m ? `+${Date.parse(m[1]) - since} ${m[2]}` : line;
      };
      const sinceArg = new Date(since - 2000).toISOString();
      for (const [i, h] of l.hosts.entries()) {
        const log = await onHostAsync(l, h, `docker logs -t --since ${sinceArg} myapp-prod-keepalived-h${i + 1} 2>&1`).catch((e) => String(e));
        progress(`failover (${what}) timeline: h${i + 1} keepalived\n  ${log.trim().split("\n").map(rel).join("\n  ")}`);
      }
      const events = await onHostAsync(
        l,
        master,
        `docker events --since ${Math.floor((since - 2000) / 1000)} --until $(date +%s) --format '{{.TimeNano}} {{.Type}} {{.Action}} {{.Actor.Attributes.name}}' --filter container=myapp-prod-caddy-h${index}`,
      ).catch((e) => String(e));
      progress(
        `failover (${what}) timeline: h${index} caddy events ${events
          .trim()
          .split("\n")
          .map((e) => (/^\d{19} /.test(e) ? `+${Math.round(Number(e.slice(0, 19)) / 1e6) - since} ${e.slice(20)}` : e))
          .join("; ")}`,
      );
    };

    const measure = async (what: string, fault: () => Promise<void>, recover: () => Promise<void>) => {
      const prober = startProber(get, { everyMs: 200, maxRequests: 1500, maxSeconds: 240 });
      await new Promise((r) => setTimeout(r, 1000));
      const since = Date.now();
      await fault();
      progress(`failover (${what}): the fault command returned after ${Date.now() - since} ms`);
      const backup = await until(`prod's VIP to leave h${index} (${what})`, 60, async () => {
        const h = await vipHolder(l, prodVip);
        return h && h !== master ? h : undefined;
      });
      progress(`failover (${what}): VIP seen on ${backup} ${Date.now() - since} ms after the fault`);
      await until(`prod to answer on the VIP after ${what}`, 60, async () => ((await get().catch(() => undefined))?.status === 200 ? true : undefined));
      await new Promise((r) => setTimeout(r, 1000));
      const results = await prober.stop();
      gaps[what] = clientGapSeconds(results, since);
      progress(
        `failover (${what}): VIP on ${backup}; gap ${gaps[what]} s as clients saw it (${outageSeconds(results, since)} s from the start of the fault command); ` +
          `${results.filter((r) => !r.ok).length} of ${results.length} probes failed`,
      );
      if (what === "proxy stopped") await timeline(what, since, results);
      await recover();
      await until(`h${index} to take prod's VIP back after ${what}`, 120, async () => ((await vipHolder(l, prodVip)) === master ? true : undefined));
      await until(`prod to answer after h${index} is back`, 120, async () => ((await get().catch(() => undefined))?.status === 200 ? true : undefined));
      if (what === "dockerd stopped") await timeline(what, since, results);
    };

    await measure(
      "proxy stopped",
      () => onHostAsync(l, master, `docker stop myapp-prod-caddy-h${index} >/dev/null`).then(() => undefined),
      () => onHostAsync(l, master, `docker start myapp-prod-caddy-h${index} >/dev/null`).then(() => undefined),
    );
    await measure(
      "dockerd stopped",
      () => sh(["stop-docker", l.dir, String(index)]),
      () => sh(["start-docker", l.dir, String(index)]),
    );
    const failoverSeconds = Math.max(...Object.values(gaps));
    // And prod is whole again: the restarted manager's task back, every proxy resolving all the app's tasks.
    const settledSeconds = await awaitSwarmSettled(l, "after the failover", { stableSeconds: 30, timeoutSeconds: 300 });
    mergeSummary({
      failoverSeconds,
      failoverSecondsProxyStopped: gaps["proxy stopped"],
      failoverSecondsDockerdStopped: gaps["dockerd stopped"],
      swarmSettledSecondsAfterFailover: settledSeconds,
    });
    expect(Number.isFinite(failoverSeconds)).toBe(true);
  }, 900_000);

  it("3. good release under load: probe:1 -> probe:2 rolls out with no failed request on the VIP, and afterwards only the new version answers", async () => {
    expect(prodUp).toBe(true);
    const l = lab!;
    const get = () => httpsGet({ host: PROD_DOMAIN, port: 443, path: "/version", ca: prodCa, address: prodVip, timeoutMs: 10_000 });
    await until("prod to answer before the release", 120, async () => ((await get().catch(() => undefined))?.status === 200 ? true : undefined));
    await awaitSwarmSettled(l, "before the good release", { stableSeconds: 10, timeoutSeconds: 300 });
    const configFile = path.join(work, "Pulumi.prod.yaml");
    fs.writeFileSync(configFile, fs.readFileSync(configFile, "utf8").replace("image: twinstack-e2e/probe:1", "image: twinstack-e2e/probe:2"));
    const prober = startProber(get, { everyMs: 100, maxRequests: 3000, maxSeconds: 400 });
    const started = Date.now();
    const names = watchUpstreamNames(l, started);
    await applyStack({ stack: "prod", configFile, projectFile: PROJECT_FILE, stateFile: prodState, handlers, log: (line) => progress(`prod release: ${line}`) });
    const appliedAt = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const results = await prober.stop();
    await releaseDiagnosis(l, "good release", started, results, await names.stop());
    const failed = results.filter((r) => !r.ok);
    const after = results.filter((r) => r.at >= appliedAt);
    progress(
      `good release: ${Math.round((appliedAt - started) / 1000)} s, ${results.length} requests, ${failed.length} failed; versions after: ${JSON.stringify([...new Set(after.map((r) => r.body.trim()))])}`,
    );
    mergeSummary({ goodReleaseFailedRequests: failed.length, goodReleaseSeconds: Math.round((appliedAt - started) / 1000) });
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((r) => r.ok && r.body.trim() === "2")).toBe(true);
    expect(failed).toHaveLength(0);
  }, 900_000);

  it("4. bad release under load: probe:bad never gets healthy, Swarm rolls back by itself, the apply fails, and the old version keeps serving", async () => {
    expect(prodUp).toBe(true);
    const l = lab!;
    const get = () => httpsGet({ host: PROD_DOMAIN, port: 443, path: "/version", ca: prodCa, address: prodVip, timeoutMs: 10_000 });
    await awaitSwarmSettled(l, "before the bad release", { stableSeconds: 10, timeoutSeconds: 300 });
    const oldVersion = await until("prod to answer before the bad release", 120, async () => {
      const a = await get().catch(() => undefined);
      return a?.status === 200 ? a.body.trim() : undefined;
    });
    const configFile = path.join(work, "Pulumi.prod.yaml");
    const good = fs.readFileSync(configFile, "utf8");
    const oldImage = /^    image: (twinstack-e2e\/probe:[^\s]+)$/m.exec(good)![1];
    const inspect = () =>
      onHost(
        l,
        l.hosts[0],
        "docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}} {{.Spec.TaskTemplate.ContainerSpec.Image}}' myapp-prod-app",
      ).trim();
    fs.writeFileSync(configFile, good.replace(`image: ${oldImage}`, "image: twinstack-e2e/probe:bad"));
    const prober = startProber(get, { everyMs: 100, maxRequests: 4000, maxSeconds: 500 });
    const started = Date.now();
    const names = watchUpstreamNames(l, started);
    let applyError = "";
    try {
      await applyStack({ stack: "prod", configFile, projectFile: PROJECT_FILE, stateFile: prodState, handlers, log: (line) => progress(`prod bad release: ${line}`) });
    } catch (err) {
      applyError = (err as Error).message;
    } finally {
      // The stack file goes back to the version that serves, whatever happened (scenario 5 applies it).
      fs.writeFileSync(configFile, good);
    }
    const appliedAt = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const results = await prober.stop();
    await releaseDiagnosis(l, "bad release", started, results, await names.stop());
    const failed = results.filter((r) => !r.ok);
    const versions = [...new Set(results.filter((r) => r.ok).map((r) => r.body.trim()))];
    const [state, image] = inspect().split(" ");
    const tasks = onHost(l, l.hosts[0], "docker service ps --filter desired-state=running --format '{{.Image}} {{.CurrentState}}' myapp-prod-app").trim().split("\n");
    progress(
      `bad release: apply failed after ${Math.round((appliedAt - started) / 1000)} s: ${applyError.slice(0, 300)}; service ${state} ${image}; running tasks ${JSON.stringify(tasks)}; ` +
        `${results.length} requests, ${failed.length} failed; versions seen ${JSON.stringify(versions)}`,
    );
    const badReleaseRolledBack = applyError !== "" && state === "rollback_completed" && image.startsWith(oldImage) && tasks.every((t) => t.startsWith(oldImage));
    mergeSummary({ badReleaseRolledBack, badReleaseFailedRequests: failed.length, badReleaseSeconds: Math.round((appliedAt - started) / 1000) });
    expect(applyError).toMatch(/rollback/);
    expect(state).toBe("rollback_completed");
    expect(image.startsWith(oldImage)).toBe(true);
    expect(tasks).toHaveLength(3);
    expect(tasks.every((t) => t.startsWith(oldImage) && / Running /.test(` ${t} `))).toBe(true);
    expect(versions).toEqual([oldVersion]);
    expect(failed).toHaveLength(0);

    // The stack applies cleanly again at the version that serves (the state kept the old service spec).
    await applyStack({ stack: "prod", configFile, projectFile: PROJECT_FILE, stateFile: prodState, handlers, log: (line) => progress(`prod after bad release: ${line}`) });
    expect(inspect().split(" ")[1].startsWith(oldImage)).toBe(true);
  }, 900_000);

  it("5. proxy change under load: a second domain joins prod's site; the VIP-bound proxies take it without a failed request", async () => {
    expect(prodUp).toBe(true);
    const l = lab!;
    const newDomain = `www.${PROD_DOMAIN}`;
    const get = () => httpsGet({ host: PROD_DOMAIN, port: 443, path: "/version", ca: prodCa, address: prodVip, timeoutMs: 10_000 });
    await until("prod to answer before the proxy change", 120, async () => ((await get().catch(() => undefined))?.status === 200 ? true : undefined));
    await awaitSwarmSettled(l, "before the proxy change", { stableSeconds: 10, timeoutSeconds: 300 });
    const proxyIds = () => l.hosts.map((h, i) => onHost(l, h, `docker inspect -f '{{.Id}} {{.State.StartedAt}}' myapp-prod-caddy-h${i + 1}`).trim());
    const before = proxyIds();
    const configFile = path.join(work, "Pulumi.prod.yaml");
    const text = fs.readFileSync(configFile, "utf8");
    expect(text).toContain(`    - ${PROD_DOMAIN}\n`);
    fs.writeFileSync(configFile, text.replace(`    - ${PROD_DOMAIN}\n`, `    - ${PROD_DOMAIN}\n    - ${newDomain}\n`));
    const prober = startProber(get, { everyMs: 100, maxRequests: 4000, maxSeconds: 400 });
    const started = Date.now();
    const names = watchUpstreamNames(l, started);
    const result = await applyStack({
      stack: "prod",
      configFile,
      projectFile: PROJECT_FILE,
      stateFile: prodState,
      handlers,
      log: (line) => progress(`prod proxy change: ${line}`),
    });
    const appliedAt = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const results = await prober.stop();
    await releaseDiagnosis(l, "proxy change", started, results, await names.stop());
    const failed = results.filter((r) => !r.ok);
    const proxyChangeSeconds = Math.round((appliedAt - started) / 100) / 10;
    const after = proxyIds();
    const ca = String(result.outputs.caCertificate);
    const answer = await until(`${newDomain} to answer on the VIP`, 60, async () => {
      const a = await httpsGet({ host: newDomain, port: 443, path: "/version", ca, address: prodVip, timeoutMs: 5000 }).catch(() => undefined);
      return a?.status === 200 ? a : undefined;
    });
    progress(
      `proxy change: ${proxyChangeSeconds} s, ${results.length} requests, ${failed.length} failed (${failed
        .slice(0, 3)
        .map((f) => new Date(f.at).toISOString())
        .join(", ")}); ` + `proxies before ${JSON.stringify(before)} after ${JSON.stringify(after)}; ${newDomain} answers ${answer.body.trim()}`,
    );
    mergeSummary({ proxyChangeFailedRequests: failed.length, proxyChangeSeconds });
    expect(ca).toBe(prodCa);
    expect(failed).toHaveLength(0);
  }, 900_000);
});
