// Real consumer: the keepalived.conf that VirtualIp uploads into each node's container, checked by
// Debian's keepalived with the container's own command line plus --config-test (exits non-zero
// and prints on any warning, e.g. an unknown flag, a truncated auth_pass or a disabled track
// script).
import * as fs from "fs";
import * as path from "path";
import * as docker from "@pulumi/docker";
import { KEEPALIVED_CONF_PATH, VirtualIp } from "../../components/virtualIp";
import { byType, planProgram, PlannedResource } from "../harness";
import { describeRun, removeDir, requireBinary, run, tmpDir } from "./util";

let keepalived: string;
let dir: string;

beforeAll(() => {
  keepalived = requireBinary("keepalived");
  dir = tmpDir("twinstack-vippair-");
});
afterAll(() => removeDir(dir));

/** A real non-loopback interface: the config test rejects unknown ones. */
function pickInterface(): string {
  const names = fs
    .readdirSync("/sys/class/net")
    .filter((n) => n !== "lo")
    .sort();
  const chosen = names.includes("eth0") ? "eth0" : names[0];
  if (!chosen) throw new Error("keepalived config test needs a non-loopback network interface");
  return chosen;
}

/** The container's keepalived invocation, reading the planned config from `file`. */
function commandFor(c: PlannedResource, file: string): string[] {
  const args = (c.props.command as string[]).map((a) => (a === KEEPALIVED_CONF_PATH ? file : a));
  expect(args).toContain(file);
  return [...args, "--config-test"];
}

test("every node's uploaded config passes keepalived --config-test with the container's flags", async () => {
  const nodes = [
    { name: "node1", address: "192.168.1.11", priority: 150 },
    { name: "node2", address: "192.168.1.12", priority: 140 },
  ];
  const { resources } = await planProgram(
    () =>
      new VirtualIp("gigi-dev-vip", {
        mode: "keepalived",
        namePrefix: "gigi-dev",
        protect: false,
        keepalived: {
          virtualIp: "192.168.1.52",
          interface: pickInterface(),
          virtualRouterId: 52,
          image: "osixia/keepalived:2.0.20",
          proxyPort: 443,
          nodes: nodes.map((n) => ({ ...n, dockerProvider: new docker.Provider(n.name, { host: `ssh://deploy@${n.address}` }) })),
        },
      }),
    { stack: "dev", config: {} },
  );
  const containers = byType(resources, "docker:index/container:Container");
  expect(containers).toHaveLength(2);
  const asRoot = process.getuid?.() === 0;
  for (const c of containers) {
    const upload = (c.props.uploads as { file: string; content: string }[]).find((u) => u.file === KEEPALIVED_CONF_PATH)!;
    const file = path.join(dir, `${c.name}.conf`);
    fs.writeFileSync(file, upload.content, { mode: 0o600 });
    const args = commandFor(c, file);
    // Its script-security check only passes `script_user root` when run as root.
    const r = asRoot ? await run(keepalived, args, { timeoutMs: 15_000 }) : await run("sudo", ["-n", keepalived, ...args], { timeoutMs: 15_000 });
    if (r.code !== 0 || r.stderr.trim() !== "" || r.timedOut) {
      throw new Error(describeRun(`keepalived ${args.join(" ")}`, r) + `\n--- ${c.name} ---\n${upload.content}`);
    }
  }
});
