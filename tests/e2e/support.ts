// Helpers of the e2e scenarios: the private engine's docker CLI, HTTPS to the dev site with the
// name resolved to 127.0.0.1 and the stack's own CA trusted, polling, and the E2E_SUMMARY file.
import { execFile } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";

export const REPO = path.resolve(__dirname, "..", "..");

/** The engine the scenarios run on: tests/e2e/run.sh (npm run e2e) starts it and sets DOCKER_HOST. */
export function dockerHost(): string {
  const host = process.env.DOCKER_HOST;
  if (!host || !process.env.TWINSTACK_E2E_DIR) {
    throw new Error("DOCKER_HOST/TWINSTACK_E2E_DIR are not set: run the scenarios with `npm run e2e` (it starts the private engine)");
  }
  return host;
}

/** The daemon's own (20.10) client, like tests/e2e/engine.sh; a newer client negotiates down. */
const DOCKER_CLI = fs.existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";

/** Runs the docker CLI against the private engine; rejects with stderr on a non-zero exit. */
export function docker(args: string[], opts: { input?: string; allowFail?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(DOCKER_CLI, args, { env: { ...process.env, DOCKER_HOST: dockerHost() }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? ((err as any).code ?? 1) : 0;
      if (err && !opts.allowFail) reject(new Error(`docker ${args.join(" ")}: exit ${code}: ${String(stderr).trim().split("\n").slice(-3).join(" | ")}`));
      else resolve({ code: typeof code === "number" ? code : 1, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin?.end(opts.input ?? "");
  });
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One HTTPS request to https://<host>:<port><path>, the name resolved to `address` (default
 * 127.0.0.1) in the client (no /etc/hosts edit) and only `ca` trusted: the certificate must chain
 * to it and name the host.
 */
export function httpsGet(opts: {
  host: string;
  port: number;
  path: string;
  ca: string;
  auth?: { user: string; password: string };
  method?: string;
  address?: string;
  timeoutMs?: number;
}): Promise<HttpAnswer> {
  const address = opts.address ?? "127.0.0.1";
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: opts.host,
        port: opts.port,
        path: opts.path,
        method: opts.method ?? "GET",
        ca: opts.ca,
        servername: opts.host,
        agent: false,
        timeout: opts.timeoutMs ?? 15000,
        headers: opts.auth ? { Authorization: `Basic ${Buffer.from(`${opts.auth.user}:${opts.auth.password}`).toString("base64")}` } : {},
        lookup: ((_hostname: string, options: any, callback: any) => {
          if (options && options.all) callback(null, [{ address, family: 4 }]);
          else callback(null, address, 4);
        }) as any,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout on ${opts.path}`)));
    req.on("error", reject);
    req.end();
  });
}

/** Polls `probe` every `everyMs` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Progress on stderr (jest buffers console.*, not the process streams). */
export function progress(line: string): void {
  process.stderr.write(`e2e: ${line}\n`);
}

export interface E2eSummary {
  devUp: boolean;
  auth401: boolean;
  auth200: boolean;
  noindex: boolean;
  appDatabase: boolean;
  appRedis: boolean;
  secondsToHealthy: number | null;
  backupWritten: boolean;
  restoreRowsLost: number | null;
  previewUp: boolean;
  previewRemoved: boolean;
  devUntouched: boolean;
  leftAfterDestroy: number | null;
}

export function emptySummary(): E2eSummary {
  return {
    devUp: false,
    auth401: false,
    auth200: false,
    noindex: false,
    appDatabase: false,
    appRedis: false,
    secondsToHealthy: null,
    backupWritten: false,
    restoreRowsLost: null,
    previewUp: false,
    previewRemoved: false,
    devUntouched: false,
    leftAfterDestroy: null,
  };
}

/** Written after every step, so a run that stops half-way still reports what it measured. */
export function writeSummary(summary: E2eSummary): void {
  mergeSummary(summary as unknown as Record<string, unknown>);
}

/**
 * Adds `fields` to the summary file, keeping what other scenario files wrote (jest runs the files
 * in an order of its own).
 */
export function mergeSummary(fields: Record<string, unknown>): void {
  const file = process.env.TWINSTACK_E2E_SUMMARY ?? path.join(process.env.TWINSTACK_E2E_DIR ?? "/tmp", "e2e-summary.json");
  const current = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
  fs.writeFileSync(file, JSON.stringify({ ...current, ...fields }));
}
