// The multi-host lab (tests/e2e/lab/lab.sh): three hosts as network namespaces, each with its own
// dockerd and sshd. The program's own Swarm formation scripts (components/dockerHosts.ts) run over
// real SSH the way command:remote runs them, form a three-node Swarm, label the nodes, and a
// service placed by that label answers on its node only; then the lab goes down leaving nothing.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { swarmInitScript, swarmJoinScript, swarmLabelScript } from "../../components/dockerHosts";

const LAB = path.join(__dirname, "lab", "lab.sh");
const BUSYBOX = "/bin/busybox";

interface Lab {
  dir: string;
  hosts: string[];
  env: NodeJS.ProcessEnv;
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
  return { dir, hosts: addresses, env: { ...process.env, SSH_AUTH_SOCK: path.join(dir, "agent.sock") } };
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

function mergeSummary(fields: Record<string, unknown>): void {
  const file = process.env.TWINSTACK_E2E_SUMMARY;
  if (!file) return;
  const current = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
  fs.writeFileSync(file, JSON.stringify({ ...current, ...fields }));
}

describe("multi-host lab: the program forms a Swarm over SSH on three real Docker hosts", () => {
  let lab: Lab | undefined;
  let labN: string | undefined;
  let labTag: string | undefined;

  beforeAll(() => {
    lab = labUp();
    const env = fs.readFileSync(path.join(lab.dir, "lab.env"), "utf8");
    labN = /^N=(.*)$/m.exec(env)?.[1];
    labTag = /^TAG=(.*)$/m.exec(env)?.[1];
    importBusybox(lab);
  }, 180_000);

  afterAll(() => {
    if (!lab) return;
    execFileSync("bash", [LAB, "down", lab.dir], { stdio: "inherit" });
    const left = Number(
      execFileSync("bash", [LAB, "leftovers", lab.dir], { encoding: "utf8", env: { ...process.env, TWINSTACK_LAB_N: labN, TWINSTACK_LAB_TAG: labTag } }).trim(),
    );
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
});
