// The PR workflow's comment: scripts/pr-comment.sh against a stand-in forge API on 127.0.0.1 (posts
// once, then updates its own comment), and the PR workflow wiring it to the offline plan.
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";

const ROOT = path.join(__dirname, "..");

function run(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", [script, ...args], { env: { ...process.env, ...env } });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stderr }));
  });
}

test("pr-comment.sh posts the body once, then updates the same comment", async () => {
  const comments: { id: number; body: string }[] = [{ id: 1, body: "someone else's comment" }];
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req
      .on("data", (d) => (body += d))
      .on("end", () => {
        seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
        if (req.method === "GET" && req.url === "/api/v1/repos/acme/shop/issues/7/comments") return res.end(JSON.stringify(comments));
        if (req.method === "POST" && req.url === "/api/v1/repos/acme/shop/issues/7/comments") {
          comments.push({ id: 2, body: JSON.parse(body).body });
          return res.end("{}");
        }
        const patch = /^\/api\/v1\/repos\/acme\/shop\/issues\/comments\/(\d+)$/.exec(req.url ?? "");
        if (req.method === "PATCH" && patch) {
          comments.find((c) => c.id === Number(patch[1]))!.body = JSON.parse(body).body;
          return res.end("{}");
        }
        res.statusCode = 404;
        return res.end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-comment-"));
  try {
    const env = { FORGE_TOKEN: "t0ken", PR_NUMBER: "7", GITHUB_SERVER_URL: `http://127.0.0.1:${port}`, GITHUB_REPOSITORY: "acme/shop" };
    const bodyFile = path.join(dir, "plan-comment.md");
    fs.writeFileSync(bodyFile, "Offline plan of `prod`: 1 violation\n");
    expect(await run(path.join(ROOT, "scripts/pr-comment.sh"), ["twinstack-plan", bodyFile], env)).toEqual({ status: 0, stderr: "" });
    fs.writeFileSync(bodyFile, "Offline plan of `prod`: clean\n");
    expect(await run(path.join(ROOT, "scripts/pr-comment.sh"), ["twinstack-plan", bodyFile], env)).toEqual({ status: 0, stderr: "" });
    expect(comments).toEqual([
      { id: 1, body: "someone else's comment" },
      { id: 2, body: "<!-- twinstack-plan -->\nOffline plan of `prod`: clean\n" },
    ]);
    expect(seen.map((s) => s.split(" ")[0])).toEqual(["GET", "POST", "GET", "PATCH"]);
    expect(seen.every((s) => s.endsWith("token t0ken"))).toBe(true);
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the PR workflow builds and pushes :preview-<slug> before deploying it, and comments the offline plan", () => {
  const pr = parse(fs.readFileSync(path.join(ROOT, ".forgejo/workflows/pr.yml"), "utf8"));
  const preview = pr.jobs["preview-env"].steps as { name?: string; run?: string }[];
  const build = preview.findIndex((s) => /docker push "\$tag"/.test(s.run ?? ""));
  const up = preview.findIndex((s) => /pulumi up -s/.test(s.run ?? ""));
  expect(build).toBeGreaterThan(-1);
  expect(build).toBeLessThan(up);
  expect(preview[build].run).toContain('tag="$IMAGE_REPOSITORY:preview-${STACK#preview-}"');

  const prod = pr.jobs["prod-preview"].steps as { run?: string }[];
  const plan = prod.findIndex((s) => /npx twinstack plan -s prod --against FETCH_HEAD/.test(s.run ?? ""));
  const comment = prod.findIndex((s) => s.run === "scripts/pr-comment.sh twinstack-plan plan-comment.md");
  const preview_ = prod.findIndex((s) => /pulumi preview -s prod/.test(s.run ?? ""));
  expect(plan).toBeGreaterThan(-1);
  expect(comment).toBe(plan + 1);
  // Commented before the credentialed preview, which stops the job on a violation.
  expect(comment).toBeLessThan(preview_);
});
