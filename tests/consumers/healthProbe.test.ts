// The app's default health check (model/images.ts httpProbeTest) run for real: the exact
// argv Docker would exec, with the probe path swapped for this machine's static busybox (Debian
// busybox-static; the probe volume holds the static busybox of the busybox:*-musl image). It must
// pass on 200 and fail on a 5xx answer, a 404 and a closed port, with no shell, wget or curl needed
// in the app image (issue 13 kind 2: node:*-slim and distroless apps).
import * as http from "node:http";
import { httpProbeTest, HEALTH_PROBE } from "../../model/images";
import { freePort, requireBinary, run } from "./util";

let busybox: string;
let server: http.Server;
let port: number;

beforeAll(async () => {
  busybox = requireBinary("busybox", "busybox-static");
  port = await freePort();
  server = http.createServer((req, res) => {
    res.writeHead(req.url === "/healthz" ? 200 : req.url === "/broken" ? 503 : 404);
    res.end("x");
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function check(p: number, path: string) {
  const [cmd, binary, ...args] = httpProbeTest(p, path);
  expect([cmd, binary]).toEqual(["CMD", HEALTH_PROBE.binary]);
  return run(busybox, args, { timeoutMs: 15_000 });
}

test("healthy on 200", async () => {
  const r = await check(port, "/healthz");
  expect(r.code).toBe(0);
});

test("unhealthy on 503, on 404 and when nothing listens", async () => {
  expect((await check(port, "/broken")).code).not.toBe(0);
  expect((await check(port, "/nope")).code).not.toBe(0);
  expect((await check(await freePort(), "/healthz")).code).not.toBe(0);
});
