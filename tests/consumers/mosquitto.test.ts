// Real consumer: a real mosquitto broker on 127.0.0.1 runs the rendered dev mosquitto.conf;
// real mosquitto_pub/mosquitto_sub clients prove the mTLS isolation between envs:
// a dev-CA client cert gets in (and its CN becomes the username), a prod-CA client cert and
// a client without a cert are refused at the TLS handshake.
//
// Mutations tried to prove these tests bite (each reverted):
// - renderer dropping `require_certificate true`: the prod-cert and no-cert tests fail (the
//   broker no longer asks for a cert, so there is no handshake refusal), and so does the dev
//   client (no cert identity, so no username).
// - renderer dropping `use_identity_as_username true`: the dev client is refused.
// - renderer ignoring bindAddress: "listens on 127.0.0.1 only" fails.
// Not caught here: `allow_anonymous true`, because require_certificate already refuses
// cert-less clients at the handshake; the unit test pins that line.

import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderMosquittoConf } from "../../components/render/mosquitto";
import { Daemon, describeRun, freePort, KeyPair, makeCa, makeCert, removeDir, requireBinary, run, RunResult, startDaemon, tmpDir, waitForTcp } from "./util";

let mosquitto: string;
let mosquittoPub: string;
let mosquittoSub: string;
let dir: string;
let port: number;
let broker: Daemon | undefined;
let devCa: KeyPair;
let devClient: KeyPair;
let prodClient: KeyPair;

const CLIENT_TIMEOUT_MS = 8_000;

/** mosquitto started as root drops to the 'mosquitto' user, which must be able to read its files. */
function handOverToBrokerUser(root: string): void {
  if (process.getuid?.() !== 0) return;
  let uid: number;
  let gid: number;
  try {
    uid = Number(execFileSync("id", ["-u", "mosquitto"]).toString().trim());
    gid = Number(execFileSync("id", ["-g", "mosquitto"]).toString().trim());
  } catch {
    throw new Error("running as root but user 'mosquitto' does not exist: install the Debian package 'mosquitto'");
  }
  const walk = (p: string) => {
    fs.chownSync(p, uid, gid);
    if (fs.statSync(p).isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  walk(root);
}

function tlsArgs(client?: KeyPair): string[] {
  const args = ["-h", "127.0.0.1", "-p", String(port), "--cafile", devCa.certFile];
  return client ? [...args, "--cert", client.certFile, "--key", client.keyFile] : args;
}

function publish(client: KeyPair | undefined, topic: string, message: string, extra: string[] = []): Promise<RunResult> {
  return run(mosquittoPub, [...tlsArgs(client), "-t", topic, "-m", message, "-q", "1", ...extra], {
    timeoutMs: CLIENT_TIMEOUT_MS,
  });
}

/** Local addresses of TCP sockets listening on `port`, from /proc (no ss/netstat needed). */
function listeningAddresses(p: number): string[] {
  const hexPort = p.toString(16).toUpperCase().padStart(4, "0");
  const found: string[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!fs.existsSync(table)) continue;
    for (const line of fs.readFileSync(table, "utf8").split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (!local || state !== "0A") continue; // 0A = LISTEN
      const [addr, lport] = local.split(":");
      if (lport !== hexPort) continue;
      found.push(
        addr.length === 8
          ? (addr.match(/../g) ?? [])
              .reverse()
              .map((h) => parseInt(h, 16))
              .join(".")
          : `ipv6:${addr}`,
      );
    }
  }
  return found;
}

/** Broker log lines written since `mark` (an earlier output length). */
function logSince(mark: number): string {
  return broker!.output().slice(mark);
}

beforeAll(async () => {
  mosquitto = requireBinary("mosquitto");
  mosquittoPub = requireBinary("mosquitto_pub", "mosquitto-clients");
  mosquittoSub = requireBinary("mosquitto_sub", "mosquitto-clients");
  requireBinary("openssl");

  dir = tmpDir("twinstack-mosquitto-");
  devCa = await makeCa(dir, "dev-ca", "gigi dev MQTT CA");
  const prodCa = await makeCa(dir, "prod-ca", "gigi prod MQTT CA");
  const server = await makeCert(dir, "server-dev", devCa, {
    commonName: "mqtt.gigi-dev",
    usage: ["server"],
    altNames: ["IP:127.0.0.1", "DNS:localhost"],
  });
  devClient = await makeCert(dir, "client-dev", devCa, { commonName: "gigi-dev-app", usage: ["client"] });
  prodClient = await makeCert(dir, "client-prod", prodCa, { commonName: "gigi-prod-app", usage: ["client"] });

  port = await freePort();
  const dataDir = path.join(dir, "data");
  fs.mkdirSync(dataDir);
  const conf = path.join(dir, "mosquitto-dev.conf");
  fs.writeFileSync(
    conf,
    renderMosquittoConf({
      port,
      bindAddress: "127.0.0.1",
      caFile: devCa.certFile,
      certFile: server.certFile,
      keyFile: server.keyFile,
      persistenceDir: dataDir,
    }),
  );
  handOverToBrokerUser(dir);

  broker = startDaemon(mosquitto, ["-c", conf]);
  try {
    await waitForTcp(port, "127.0.0.1", 5_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- mosquitto output ---\n${broker.output()}`);
  }
  // The socket opens before TLS setup; "running" is logged only once the listener is complete.
  const deadline = Date.now() + 3_000;
  while (!/mosquitto version \S+ running/.test(broker.output())) {
    if (Date.now() > deadline) throw new Error(`mosquitto did not start:\n${broker.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});

afterAll(async () => {
  await broker?.stop();
  if (dir) removeDir(dir);
});

describe("dev mosquitto with mutual TLS", () => {
  test("a dev-CA client cert can publish and subscribe; its CN is the username", async () => {
    const mark = broker!.output().length;
    const pub = await publish(devClient, "gigi/dev/hello", "from-dev", ["-r"]);
    expect(pub.code).toBe(0);

    const sub = await run(mosquittoSub, [...tlsArgs(devClient), "-t", "gigi/dev/hello", "-C", "1", "-W", "5"], { timeoutMs: CLIENT_TIMEOUT_MS });
    if (sub.code !== 0) throw new Error(describeRun("mosquitto_sub (dev cert)", sub) + `\n--- broker ---\n${logSince(mark)}`);
    expect(sub.stdout.trim()).toBe("from-dev");
    expect(logSince(mark)).toMatch(/u'gigi-dev-app'/);
  });

  test("a prod-CA client cert is refused at the TLS handshake", async () => {
    const mark = broker!.output().length;
    const r = await publish(prodClient, "gigi/dev/hello", "from-prod");
    expect(r.timedOut).toBe(false);
    expect(r.code).not.toBe(0);
    await new Promise((res) => setTimeout(res, 100)); // let the broker log the rejection
    expect(logSince(mark)).toMatch(/certificate verify failed/);
    expect(logSince(mark)).not.toMatch(/u'gigi-prod-app'/);
  });

  test("a client without a cert is refused", async () => {
    const mark = broker!.output().length;
    const r = await publish(undefined, "gigi/dev/hello", "anonymous");
    expect(r.timedOut).toBe(false);
    expect(r.code).not.toBe(0);
    await new Promise((res) => setTimeout(res, 100));
    expect(logSince(mark)).toMatch(/peer did not return a certificate/);
  });

  test("the broker listens on 127.0.0.1 only", () => {
    expect(listeningAddresses(port)).toEqual(["127.0.0.1"]);
  });
});
