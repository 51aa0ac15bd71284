// A bounded HTTPS load generator for the e2e release scenarios: a few workers send requests to
// one site of the stack through its proxy, with the name resolved to 127.0.0.1 only (never any
// other address) and only the stack's own CA trusted, until stop() or a limit: at most
// `maxRequests` requests and `maxSeconds` seconds in all, whatever happens. Connections are kept
// alive (as browsers and API clients do), so a release that drops pooled connections shows.
import * as https from "https";

export interface LoadOptions {
  host: string;
  /** A port on 127.0.0.1 (the proxy's published HTTPS port). */
  port: number;
  path: string;
  /** GET (default) or POST (empty body): a proxy may replay a failed GET, never a POST. */
  method?: "GET" | "POST";
  /** PEM of the CA to trust (the stack's caCertificate output). */
  ca: string;
  auth?: { user: string; password: string };
  /** Parallel workers, each one request at a time. Default 2. */
  concurrency?: number;
  /** Pause of each worker between two requests, in ms. Default 20. */
  pauseMs?: number;
  /** Hard limits: the load stops at whichever comes first. */
  maxRequests: number;
  maxSeconds: number;
  /** Per-request timeout in ms (a timeout counts as a failure). Default 10000. */
  timeoutMs?: number;
}

export interface LoadResult {
  requests: number;
  ok: number;
  /** Requests that did not answer 200: HTTP errors, connection errors, timeouts. */
  failed: number;
  /** Failure → count, e.g. {"HTTP 502": 3, "ECONNRESET": 1}. */
  failures: Record<string, number>;
  /** When each failure happened (ISO time) and what it was, for matching with the proxy's log. */
  failureLog: string[];
  /** First line of each 200 body → count (which versions answered). */
  bodies: Record<string, number>;
  /** The 200 bodies' first lines in the order they changed, e.g. ["probe 1", "probe 3"]. */
  sequence: string[];
  seconds: number;
  /** Why it stopped: "stopped", "maxRequests" or "maxSeconds". */
  end: string;
}

/** Starts the load; stop() ends it (requests in flight finish) and returns the figures. */
export function startLoad(opts: LoadOptions): { stop: () => Promise<LoadResult> } {
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) throw new Error(`load: bad port ${opts.port}`);
  const concurrency = opts.concurrency ?? 2;
  const pauseMs = opts.pauseMs ?? 20;
  const started = Date.now();
  const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency });
  const result: LoadResult = { requests: 0, ok: 0, failed: 0, failures: {}, failureLog: [], bodies: {}, sequence: [], seconds: 0, end: "stopped" };
  let stopping = false;
  const headers: Record<string, string> = opts.auth ? { Authorization: `Basic ${Buffer.from(`${opts.auth.user}:${opts.auth.password}`).toString("base64")}` } : {};

  const fail = (why: string) => {
    result.failed++;
    result.failures[why] = (result.failures[why] ?? 0) + 1;
    result.failureLog.push(`${new Date().toISOString()} ${why}`);
  };
  const one = () =>
    new Promise<void>((resolve) => {
      const req = https.request(
        {
          host: opts.host,
          port: opts.port,
          path: opts.path,
          method: opts.method ?? "GET",
          ca: opts.ca,
          servername: opts.host,
          agent,
          timeout: opts.timeoutMs ?? 10_000,
          headers,
          // Loopback only, whatever the name.
          lookup: ((_hostname: string, options: any, callback: any) => {
            if (options && options.all) callback(null, [{ address: "127.0.0.1", family: 4 }]);
            else callback(null, "127.0.0.1", 4);
          }) as any,
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (d) => (body += d));
          res.on("end", () => {
            if (res.statusCode === 200) {
              result.ok++;
              const line = body.split("\n")[0];
              result.bodies[line] = (result.bodies[line] ?? 0) + 1;
              if (result.sequence[result.sequence.length - 1] !== line) result.sequence.push(line);
            } else fail(`HTTP ${res.statusCode}`);
            resolve();
          });
          res.on("error", (err: NodeJS.ErrnoException) => {
            fail(err.code ?? err.message);
            resolve();
          });
        },
      );
      req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
      req.on("error", (err: NodeJS.ErrnoException) => {
        fail(err.code ?? err.message);
        resolve();
      });
      req.end();
    });

  const worker = async () => {
    for (;;) {
      if (stopping) return;
      if (result.requests >= opts.maxRequests) {
        result.end = "maxRequests";
        return;
      }
      if (Date.now() - started >= opts.maxSeconds * 1000) {
        result.end = "maxSeconds";
        return;
      }
      result.requests++;
      await one();
      if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    async stop() {
      stopping = true;
      await Promise.all(workers);
      agent.destroy();
      result.seconds = Math.round((Date.now() - started) / 100) / 10;
      return result;
    },
  };
}
