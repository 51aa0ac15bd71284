// The README walkthrough, as a new user follows it: its stack files written into a copy of the
// project, its commands run in order. `pulumi config set --secret` is emulated (it writes an
// encrypted `secure:` value into the stack file); other pulumi commands cannot run here and are
// the only lines skipped.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ProcessResult, spawnAsync } from "../tools/planCli";

const ROOT = path.join(__dirname, "..");
jest.setTimeout(240_000);

const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
const section = /<!-- walkthrough:start -->\n([\s\S]*?)<!-- walkthrough:end -->/.exec(readme)?.[1] ?? "";
const blocks = [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], text: m[2] }));

test("the walkthrough has two stack files and a command block", () => {
  expect(blocks.filter((b) => b.lang === "yaml").map((b) => b.text.split("\n")[0])).toEqual(["# Pulumi.dev.yaml", "# Pulumi.prod.yaml"]);
  expect(blocks.filter((b) => b.lang === "sh")).toHaveLength(1);
});

test("following it plans dev, prod and a preview clean", async () => {
  // A copy of the project as a user's clone: the files a clone has (tracked, and new ones not
  // ignored: `git ls-files`, as they are in the work tree) copied; what `npm ci` installs (node_modules,
  // and policy/node_modules where `npm ci --prefix policy` made one) linked. No dist/: the first
  // command builds it. (Copying the whole tree copied policy/node_modules too: ~12,000 files, ~5 s CPU.)
  const project = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-walkthrough-"));
  try {
    const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" }).split("\0");
    expect(files).toContain("README.md");
    for (const file of new Set(files.filter(Boolean))) {
      if (!fs.existsSync(path.join(ROOT, file))) continue; // deleted in the work tree, not yet in git
      fs.mkdirSync(path.dirname(path.join(project, file)), { recursive: true });
      fs.copyFileSync(path.join(ROOT, file), path.join(project, file));
    }
    for (const modules of ["node_modules", "policy/node_modules"]) {
      if (fs.existsSync(path.join(ROOT, modules))) fs.symlinkSync(path.join(ROOT, modules), path.join(project, modules));
    }
    for (const b of blocks.filter((b) => b.lang === "yaml")) fs.writeFileSync(path.join(project, b.text.split("\n")[0].slice(2)), b.text);

    const commands = blocks
      .find((b) => b.lang === "sh")!
      .text.trim()
      .split("\n");
    const planned: string[] = [];
    // Consecutive `npx twinstack` lines run at once; a line that edits a stack file first waits for
    // the commands before it, so each command sees the files as in order. The first command runs
    // alone: it builds the copy's dist/, as a fresh clone's first command does.
    const running: { line: string; stack: string; run: Promise<ProcessResult> }[] = [];
    const finish = async () => {
      for (const { line, stack, run: started } of running.splice(0)) {
        const run = await started;
        expect({ line, status: run.status, stderr: run.stderr }).toEqual({ line, status: 0, stderr: "" });
        expect(run.stdout).toMatch(/\n0 mandatory and 0 advisory policy violations\n$/);
        planned.push(stack);
      }
    };
    for (const line of commands) {
      const words = line.split(/\s+/);
      if (line.startsWith("pulumi config set --secret ")) {
        await finish();
        const [stack, key] = [words[words.indexOf("-s") + 1], words[words.indexOf("-s") + 2]];
        fs.appendFileSync(path.join(project, `Pulumi.${stack}.yaml`), `  twinstack:${key}:\n    secure: v1:walkthrough-test\n`);
      } else if (words[0] === "npx" && words[1] === "twinstack") {
        const first = planned.length === 0 && running.length === 0;
        running.push({ line, stack: words[4], run: spawnAsync(process.execPath, [path.join(project, "bin", "twinstack.js"), ...words.slice(2)], { cwd: project }) });
        if (first) await finish();
      } else {
        expect(line).toMatch(/^pulumi (up|login|stack) /);
      }
    }
    await finish();
    expect(planned).toEqual(["dev", "prod", "preview-feature-login"]);
  } finally {
    fs.rmSync(project, { recursive: true, force: true });
  }
});
