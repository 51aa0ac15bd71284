// Helpers for real-Caddy tests: validate rendered Caddyfiles with the real binary and run Caddy on
// 127.0.0.1 in front of tiny upstream servers. Caddy's HOME/XDG dirs point into a temp dir, so it
// writes nothing outside it; everything started here is stopped by its own handle.
import { ChildProcess, spawn, spawnSync } from "child_process";
import { createHash } from "crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "fs";
import * as http from "http";
import { AddressInfo, createServer, Socket } from "net";
import { join } from "path";
import { ProxySite } from "../../components/render/caddyfile";
import { testTmpRoot } from "../support/tmpRoot";

export const CADDY_BIN = process.env.CADDY_BIN ?? "/usr/bin/caddy";

/** Fails (never skips) when Caddy is missing: CI installs the Debian `caddy` package. */
export function requireCaddy(): string {
  if (!existsSync(CADDY_BIN)) {
    throw new Error(`caddy not found at ${CADDY_BIN}: install the Debian "caddy" package (apt-get install caddy) ` + "or set CADDY_BIN; the real-consumer Caddy tests do not skip");
  }
  return CADDY_BIN;
}

/** A temp dir plus an environment that keeps Caddy's data, config and autosave inside it. */
function caddySandbox(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(testTmpRoot(), "twinstack-caddy-"));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    XDG_DATA_HOME: join(dir, "data"),
    XDG_CONFIG_HOME: join(dir, "config"),
  };
  return { dir, env };
}

/** Caddy logs JSON lines on stderr; keep only what is not routine info. */
function caddyErrors(stderr: string): string {
  return stderr
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.includes('"level":"info"'))
    .join("\n");
}

/** Runs `caddy validate --adapter caddyfile`; throws with Caddy's stderr on failure. */
export function caddyValidate(caddyfileText: string): { warnings: string[] } {
  const bin = requireCaddy();
  const { dir, env } = caddySandbox();
  try {
    const file = join(dir, "Caddyfile");
    writeFileSync(file, caddyfileText);
    const result = spawnSync(bin, ["validate", "--adapter", "caddyfile", "--config", file], {
      env,
      encoding: "utf8",
      timeout: 20_000,
    });
    if (result.status !== 0) {
      throw new Error(`caddy validate failed (exit ${result.status}):\n${caddyErrors(result.stderr ?? "")}\n--- Caddyfile ---\n${caddyfileText}`);
    }
    const warnings = (result.stderr ?? "").split("\n").filter((line) => line.includes('"level":"warn"'));
    return { warnings };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The same sites (routes, basic auth, headers, import dirs) as plain-HTTP listeners on loopback ports:
 * TLS is replaced by `tls: { mode: "off" }` plus an explicit port, so a real Caddy can serve them
 * without certificates. Give several sites the same port to route by Host header on one listener.
 */
export function loopbackSites(sites: ProxySite[], portFor: (site: ProxySite, index: number) => number): ProxySite[] {
  return sites.map((site, index) => ({ ...site, tls: { mode: "off" }, port: portFor(site, index) }));
}

/** A free TCP port on 127.0.0.1 (bound and released; fine for tests on one machine). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Puts the admin endpoint on 127.0.0.1:<adminPort> and turns automatic HTTPS off. */
function withLoopbackGlobals(caddyfileText: string, adminPort: number): string {
  const globals = `\tadmin 127.0.0.1:${adminPort}\n\tauto_https off\n`;
  if (caddyfileText.startsWith("{\n")) {
    const end = caddyfileText.indexOf("\n}\n");
    const block = caddyfileText.slice(0, end);
    if (/^\s*(admin|auto_https)\b/m.test(block)) {
      throw new Error("startCaddy sets admin and auto_https itself; render the Caddyfile without them");
    }
    return `{\n${globals}${caddyfileText.slice(2)}`;
  }
  return `{\n${globals}}\n\n${caddyfileText}`;
}

export interface RunningCaddy {
  adminPort: number;
  /** Loads a new Caddyfile (or the same one again, re-reading imports) through the admin API. */
  reload(newCaddyfile: string): Promise<void>;
  stop(): Promise<void>;
  /** Everything Caddy logged so far (for failure messages). */
  logs(): string;
}

/** `caddy run` with a free admin port on 127.0.0.1; resolves once Caddy serves the config. */
export async function startCaddy(caddyfile: string): Promise<RunningCaddy> {
  const bin = requireCaddy();
  const adminPort = await freePort();
  const { dir, env } = caddySandbox();
  const file = join(dir, "Caddyfile");
  writeFileSync(file, withLoopbackGlobals(caddyfile, adminPort));
  const child: ChildProcess = spawn(bin, ["run", "--adapter", "caddyfile", "--config", file], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let running = true;
  child.once("exit", () => (running = false));

  const cleanup = async () => {
    if (running) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => running && child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`caddy did not start within 10 s:\n${output}`)), 10_000);
      const onData = () => {
        if (output.includes("serving initial configuration")) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stderr?.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`caddy exited with ${code} during startup:\n${caddyErrors(output)}`));
      });
      onData();
    });
  } catch (error) {
    await cleanup();
    throw error;
  }

  return {
    adminPort,
    logs: () => output,
    async reload(newCaddyfile: string) {
      const text = withLoopbackGlobals(newCaddyfile, adminPort);
      writeFileSync(file, text);
      // must-revalidate: reload even if the adapted config looks unchanged.
      const response = await request({
        port: adminPort,
        method: "POST",
        path: "/load",
        headers: { "Content-Type": "text/caddyfile", "Cache-Control": "must-revalidate" },
        body: text,
      });
      if (response.status !== 200) throw new Error(`caddy reload failed (${response.status}): ${response.body}`);
      await untilOneListenerPerAddress(child.pid!, () => output);
    },
    stop: cleanup,
  };
}

/**
 * The TCP addresses a process listens on, each with the number of its listening sockets there, from
 * /proc/<pid>/fd (socket:[inode]) and /proc/net/tcp{,6} (state 0A is LISTEN; proc(5)).
 */
export function listeningSockets(pid: number): Map<string, number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]);
    } catch {
      // the fd closed between readdir and readlink
    }
  }
  const counts = new Map<string, number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== "0A" || !inodes.has(fields[9])) continue;
      counts.set(fields[1], (counts.get(fields[1]) ?? 0) + 1);
    }
  }
  return counts;
}

/**
 * Waits until the process has one listening socket per address. Caddy (2.6+, listen_linux.go) binds
 * each new config's listeners with SO_REUSEPORT beside the old ones and closes the old ones after the
 * swap; the kernel spreads new connections over both and resets those queued on a socket that is
 * then closed, unless net.ipv4.tcp_migrate_req is 1 (Linux ip-sysctl.rst). The deployed proxies set
 * that sysctl in their own network namespace (components/proxy.ts); this harness runs Caddy in the
 * host's, so it waits for the old sockets to be gone before the next request.
 */
async function untilOneListenerPerAddress(pid: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const doubled = [...listeningSockets(pid)].filter(([, count]) => count > 1);
    if (doubled.length === 0) return;
    if (Date.now() > deadline) throw new Error(`caddy still holds old listeners 10 s after a reload (${doubled.map(([a, n]) => `${a} x${n}`).join(", ")}):\n${logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface UpstreamRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
}

export interface Upstream {
  name: string;
  port: number;
  /** "127.0.0.1:<port>", ready for ProxyRoute.upstream. */
  address: string;
  requests: UpstreamRequest[];
  stop(): Promise<void>;
}

const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC11B65";

/**
 * A small HTTP server on 127.0.0.1 that answers JSON { name, path, headers } and records every
 * request. Websocket upgrades get a proper 101 (with X-Upstream: <name>) and an echo of the bytes sent.
 * `responseHeaders` are added to every plain response (e.g. an app's own X-Robots-Tag).
 */
export async function startUpstream(name: string, responseHeaders: Record<string, string> = {}): Promise<Upstream> {
  const requests: UpstreamRequest[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    requests.push({ path: req.url ?? "", headers: req.headers });
    res.writeHead(200, { ...responseHeaders, "Content-Type": "application/json", "X-Upstream": name });
    res.end(JSON.stringify({ name, path: req.url, headers: req.headers }));
  });
  server.on("upgrade", (req, socket: Socket) => {
    requests.push({ path: req.url ?? "", headers: req.headers });
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    const key = String(req.headers["sec-websocket-key"] ?? "");
    const accept = createHash("sha1")
      .update(key + WEBSOCKET_GUID)
      .digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\nX-Upstream: ${name}\r\nX-Upstream-Path: ${req.url}\r\n\r\n`,
    );
    socket.on("data", (data) => socket.write(data));
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name,
    port,
    address: `127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface SimpleResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP/1.1 request to 127.0.0.1 with an explicit Host header; no keep-alive. */
export function request(args: {
  port: number;
  path: string;
  host?: string;
  method?: string;
  auth?: { user: string; password: string };
  headers?: Record<string, string>;
  body?: string;
}): Promise<SimpleResponse> {
  const headers: Record<string, string> = { ...(args.headers ?? {}) };
  if (args.host) headers.Host = args.host;
  if (args.auth) headers.Authorization = `Basic ${Buffer.from(`${args.auth.user}:${args.auth.password}`).toString("base64")}`;
  return new Promise((resolve, reject) => {
    // 30 s, not 5: for an unknown user Caddy compares against a fixed cost-14 bcrypt hash (anti-timing;
    // caddyserver/caddy modules/caddyhttp/caddyauth/hashes.go, BcryptHash.FakeHash), about 1 s of CPU
    // alone and more than 5 s on a loaded 2-core machine ("unknown user -> 401" timed out there).
    const req = http.request({ host: "127.0.0.1", port: args.port, path: args.path, method: args.method ?? "GET", headers, agent: false, timeout: 30_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`request to 127.0.0.1:${args.port}${args.path} timed out`)));
    req.on("error", reject);
    req.end(args.body);
  });
}

/**
 * Opens a websocket through the proxy and round-trips `message` as raw bytes after the 101.
 * Resolves with the 101's headers and the echoed bytes.
 */
export function websocketEcho(args: {
  port: number;
  path: string;
  host: string;
  auth?: { user: string; password: string };
  message: string;
}): Promise<{ headers: http.IncomingHttpHeaders; echoed: string }> {
  const headers: Record<string, string> = {
    Host: args.host,
    Connection: "Upgrade",
    Upgrade: "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": Buffer.from("twinstack-test-k").toString("base64"),
  };
  if (args.auth) headers.Authorization = `Basic ${Buffer.from(`${args.auth.user}:${args.auth.password}`).toString("base64")}`;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: args.port, path: args.path, headers, agent: false, timeout: 5_000 });
    req.on("upgrade", (res, socket) => {
      let echoed = "";
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error("no websocket echo within 5 s"));
      }, 5_000);
      socket.on("data", (data: Buffer) => {
        echoed += data.toString("utf8");
        if (echoed.length >= args.message.length) {
          clearTimeout(timer);
          socket.destroy();
          resolve({ headers: res.headers, echoed });
        }
      });
      socket.write(args.message);
    });
    req.on("response", (res) => {
      res.resume();
      reject(new Error(`websocket upgrade refused with HTTP ${res.statusCode}`));
    });
    req.on("timeout", () => req.destroy(new Error("websocket upgrade timed out")));
    req.on("error", reject);
    req.end();
  });
}
