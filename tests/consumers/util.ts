// Generic helpers for real-consumer tests: free loopback ports, temp dirs, running programs
// with a timeout, long-running daemons, and throwaway CAs/certs made with openssl.
// Nothing here is specific to one consumer; keep it that way so every consumer test can use it.

import { spawn, ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { testTmpRoot } from "../support/tmpRoot";

/** A TCP port that was free on 127.0.0.1 a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("freePort: no port assigned"))));
    });
  });
}

/** A fresh private directory under the tests' temp root (tests/support/tmpRoot.ts: a tmpfs when there is one); remove it with removeDir(). */
export function tmpDir(prefix = "twinstack-"): string {
  return fs.mkdtempSync(path.join(testTmpRoot(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export interface RunResult {
  /** Exit code; null when killed by a signal (e.g. on timeout). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
}

/** Run a program to completion (no shell). Never rejects for a non-zero exit; check .code. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`run ${cmd}: ${err.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin.on("error", () => undefined); // the program may exit without reading input
    child.stdin.end(opts.input ?? "");
  });
}

/** One line for a failed assertion: what ran, how it ended, and its output. */
export function describeRun(label: string, r: RunResult): string {
  const how = r.timedOut ? "timed out" : r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
  return `${label}: ${how}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

// Debian puts daemons (keepalived, ...) in sbin, which a non-root PATH often lacks.
const EXTRA_BIN_DIRS = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

/**
 * Absolute path of a required program, or a thrown Error saying what is missing.
 * Consumer tests call this instead of skipping: CI installs the programs, so absence is a failure.
 */
export function requireBinary(name: string, debianPackage = name): string {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter).filter(Boolean), ...EXTRA_BIN_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here; keep looking
    }
  }
  throw new Error(
    `required program '${name}' not found on PATH or in ${EXTRA_BIN_DIRS.join(", ")}: ` +
      `install the Debian package '${debianPackage}' (.ci/run installs it). This test is not skipped.`,
  );
}

/** Resolve once something accepts TCP connections on host:port, or reject after timeoutMs. */
export async function waitForTcp(port: number, host = "127.0.0.1", timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect({ port, host });
      sock.once("connect", () => {
        sock.destroy();
        resolve(true);
      });
      sock.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Daemon {
  child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr interleaved). */
  output(): string;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Start a long-running program in the foreground (no shell); the caller must stop() it. */
export function startDaemon(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Daemon {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.on("error", (err) => (out += `\n[spawn error] ${err.message}\n`));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  return {
    child,
    output: () => out,
    async stop(graceMs = 3000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

export interface KeyPair {
  certFile: string;
  keyFile: string;
}

const CERT_DAYS = 2;

async function openssl(args: string[], cwd: string): Promise<void> {
  const bin = requireBinary("openssl");
  const r = await run(bin, args, { cwd, timeoutMs: 20_000 });
  if (r.code !== 0) throw new Error(describeRun(`openssl ${args[0]}`, r));
}

export interface SelfSignedOptions {
  /** Subject CN; default the name. */
  commonName?: string;
  /** Validity in days; default 2. */
  days?: number;
  /** openssl -addext values, e.g. "subjectAltName=IP:127.0.0.1". */
  extensions?: string[];
}

/** A self-signed certificate (EC P-256) in dir: <name>.crt and <name>.key. */
export async function makeSelfSigned(dir: string, name: string, opts: SelfSignedOptions = {}): Promise<KeyPair> {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  await openssl(
    [
      "req",
      "-x509",
      "-new",
      "-nodes",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      String(opts.days ?? CERT_DAYS),
      "-subj",
      `/CN=${opts.commonName ?? name}`,
      ...(opts.extensions ?? []).flatMap((e) => ["-addext", e]),
    ],
    dir,
  );
  return { certFile, keyFile };
}

/** A self-signed CA (EC P-256) in dir: <name>.crt and <name>.key. */
export function makeCa(dir: string, name: string, commonName = `${name} test CA`): Promise<KeyPair> {
  return makeSelfSigned(dir, name, { commonName, extensions: ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"] });
}

export interface CertOptions {
  commonName: string;
  /** "server", "client" or both; sets extendedKeyUsage. Default both. */
  usage?: Array<"server" | "client">;
  /** subjectAltName entries, e.g. ["IP:127.0.0.1", "DNS:localhost"]. */
  altNames?: string[];
}

/** A leaf cert (EC P-256) signed by ca, in dir: <name>.crt and <name>.key. */
export async function makeCert(dir: string, name: string, ca: KeyPair, opts: CertOptions): Promise<KeyPair> {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  const csrFile = path.join(dir, `${name}.csr`);
  const extFile = path.join(dir, `${name}.ext`);
  const usage = opts.usage ?? ["server", "client"];
  const eku = usage.map((u) => (u === "server" ? "serverAuth" : "clientAuth")).join(",");
  const ext = [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage=${eku}`,
    ...(opts.altNames?.length ? [`subjectAltName=${opts.altNames.join(",")}`] : []),
  ];
  fs.writeFileSync(extFile, ext.join("\n") + "\n");
  await openssl(
    ["req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-keyout", keyFile, "-out", csrFile, "-subj", `/CN=${opts.commonName}`],
    dir,
  );
  await openssl(
    ["x509", "-req", "-in", csrFile, "-CA", ca.certFile, "-CAkey", ca.keyFile, "-CAcreateserial", "-out", certFile, "-days", String(CERT_DAYS), "-extfile", extFile],
    dir,
  );
  return { certFile, keyFile };
}

/**
 * Run a Python console script (a /usr/bin/<name> that setuptools wrote, e.g. cloud-init, patroni)
 * once per argument list, all in one Python process (tests/consumers/consoleScriptBatch.py): the
 * interpreter of the script's #! line loads the entry point its "EASY-INSTALL-ENTRY-SCRIPT" line
 * names and calls it with each argv, as the script does. One RunResult per list, in order, with
 * the exit status and output that run of the script gives. Rejects when the script is not such a
 * script or the batch process itself fails.
 */
export async function runConsoleScript(script: string, runs: string[][], opts: RunOptions = {}): Promise<RunResult[]> {
  const text = fs.readFileSync(script, "utf8");
  const python = /^#!\s*(\S+)/.exec(text)?.[1];
  const entry = /^# EASY-INSTALL-ENTRY-SCRIPT: '([^'=]+)==[^']*','([^']+)','([^']+)'$/m.exec(text);
  if (!python || !entry) throw new Error(`${script}: not a setuptools console script (no #! line or EASY-INSTALL-ENTRY-SCRIPT line)`);
  const r = await run(python, [path.join(__dirname, "consoleScriptBatch.py"), entry[1], entry[2], entry[3], script, JSON.stringify(runs)], opts);
  if (r.code !== 0) throw new Error(describeRun(`${path.basename(script)} (${runs.length} runs in one process)`, r));
  const results = JSON.parse(r.stdout) as Array<{ code: number; stdout: string; stderr: string }>;
  if (results.length !== runs.length) throw new Error(`${path.basename(script)}: ${results.length} results for ${runs.length} runs`);
  return results.map((x) => ({ code: x.code, signal: null, stdout: x.stdout, stderr: x.stderr, timedOut: false }));
}
