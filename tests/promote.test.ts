import { execFileSync, spawnSync } from "child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { parse } from "yaml";
import { mutableImageProblem } from "../policy/images";
import { testTmpRoot } from "./support/tmpRoot";
import { immutableImageProblem, isReleaseTag, main, promote, PromoteDeps, PromoteError } from "../tools/promote";

const OLD_DIGEST = `sha256:${"a".repeat(64)}`;
const NEW_DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;
const REPO = "registry.example.com/gigi/gigi";
const NEW_IMAGE = `${REPO}@${NEW_DIGEST}`;

const PROD_YAML = `# prod: two-node swarm
config:
  twinstack:env: prod
  # the application itself
  twinstack:app:
    name: gigi
    image: ${REPO}@${OLD_DIGEST}   # pinned by npm run promote
    version: v1.0.0
    port: 3000
  twinstack:domains:
    - gigi.casa # apex
`;

const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@example.com",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@example.com",
};

interface Repo {
  dir: string;
  file: string;
  git(args: string[]): string;
  deps: PromoteDeps & { logs: string[]; outputCalls: string[] };
}

let repo: Repo;

function gitIn(dir: string): (args: string[]) => string {
  return (args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
}

// The starting repository every test gets (Pulumi.prod.yaml committed on main, tagged v1.0.0) is
// built once per suite with git and copied for each test: each test still gets its own
// independent repository with this content, without starting four git processes for it. A copied
// repository is a valid one (git keeps no absolute paths in it); the copy's files have new inodes
// and times, so git's first status re-reads them against the index (racy-git check) and finds them
// clean: https://git-scm.com/docs/racy-git
// The repositories live under testTmpRoot() (tests/support/tmpRoot.ts: a tmpfs when there is one),
// where git's many small writes (objects, index, refs) cost a fraction of their kernel time on disk.
let template: string;

beforeAll(() => {
  template = mkdtempSync(join(testTmpRoot(), "promote-template-"));
  const git = gitIn(template);
  git(["init", "-q", "-b", "main"]);
  writeFileSync(join(template, "Pulumi.prod.yaml"), PROD_YAML);
  git(["add", "Pulumi.prod.yaml"]);
  git(["commit", "-q", "-m", "prod stack"]);
  git(["tag", "v1.0.0"]);
});
afterAll(() => {
  rmSync(template, { recursive: true, force: true });
});

function makeRepo(): Repo {
  const dir = mkdtempSync(join(testTmpRoot(), "promote-"));
  cpSync(template, dir, { recursive: true });
  const git = gitIn(dir);
  const file = join(dir, "Pulumi.prod.yaml");
  const logs: string[] = [];
  const outputCalls: string[] = [];
  const deps = {
    logs,
    outputCalls,
    git,
    pulumiStackOutput: (stack: string, name: string) => {
      outputCalls.push(`${stack}:${name}`);
      return `${NEW_IMAGE}\n`;
    },
    readFile: (p: string) => readFileSync(p, "utf8"),
    writeFile: (p: string, content: string) => writeFileSync(p, content),
    log: (m: string) => logs.push(m),
  };
  return { dir, file, git, deps };
}

beforeEach(() => {
  repo = makeRepo();
});
afterEach(() => {
  rmSync(repo.dir, { recursive: true, force: true });
});

/** Runs fn once; the returned function throws what fn threw (or returns, if fn did not throw). */
function once(fn: () => unknown): () => void {
  try {
    fn();
  } catch (e) {
    return () => {
      throw e;
    };
  }
  return () => undefined;
}

function refusal(opts: Parameters<typeof promote>[0], message: RegExp): void {
  // One promote run (its git processes) checked twice: the error's class and its message.
  const run = once(() => promote(opts, repo.deps));
  expect(run).toThrow(PromoteError);
  expect(run).toThrow(message);
  expect(readFileSync(repo.file, "utf8")).toBe(PROD_YAML);
}

describe("promote happy path", () => {
  test("pins digest and version, keeps every other key and comment", () => {
    const result = promote({ version: "v1.2.3", digest: NEW_IMAGE, stackFile: repo.file }, repo.deps);
    const written = readFileSync(repo.file, "utf8");

    const config = parse(written).config;
    expect(config["twinstack:app"]).toEqual({ name: "gigi", image: NEW_IMAGE, version: "v1.2.3", port: 3000 });
    expect(config["twinstack:env"]).toBe("prod");
    expect(config["twinstack:domains"]).toEqual(["gigi.casa"]);

    // Only the image and version lines differ; comments stay put, including the one on the image line.
    const before = PROD_YAML.split("\n");
    const after = written.split("\n");
    expect(after).toHaveLength(before.length);
    const changed = after.map((line, i) => (line === before[i] ? null : i)).filter((i) => i !== null);
    expect(changed.map((i) => before[i!].trim().split(":")[0])).toEqual(["image", "version"]);
    expect(written).toContain(`image: ${NEW_IMAGE} # pinned by npm run promote`);
    expect(written).toContain("# prod: two-node swarm");
    expect(written).toContain("# the application itself");
    expect(written).toContain("- gigi.casa # apex");

    expect(result.next).toBe(`git commit -m "promote v1.2.3" -- ${repo.file} && git tag -a v1.2.3 -m "promote v1.2.3" && git push origin main v1.2.3`);
    expect(repo.deps.logs).toContain(result.next);
    expect(repo.deps.outputCalls).toEqual([]);
  });

  test("the printed commands work: commit, tag", () => {
    const result = promote(
      { version: "v1.2.3", digest: NEW_IMAGE, stackFile: "Pulumi.prod.yaml" },
      {
        ...repo.deps,
        readFile: (p) => readFileSync(join(repo.dir, p), "utf8"),
        writeFile: (p, c) => writeFileSync(join(repo.dir, p), c),
      },
    );
    const local = result.next.replace(/ && git push .*$/, "");
    execFileSync("sh", ["-c", local], { cwd: repo.dir, stdio: "pipe", env: { ...process.env, ...GIT_IDENTITY } });
    expect(repo.git(["status", "--porcelain"])).toBe("");
    expect(repo.git(["tag", "--list", "v1.2.3"]).trim()).toBe("v1.2.3");
    expect(repo.git(["show", "v1.2.3:Pulumi.prod.yaml"])).toContain(NEW_IMAGE);
  });

  test("names the stack file relative to the caller's directory when inside it, else absolute", () => {
    const inside = promote({ version: "v1.2.3", digest: NEW_IMAGE, stackFile: repo.file, callerDir: repo.dir }, repo.deps);
    expect(inside.next).toMatch(/^git commit -m "promote v1\.2\.3" -- Pulumi\.prod\.yaml && /);
    expect(repo.deps.logs).toContain(`pinned ${NEW_IMAGE} as v1.2.3 in Pulumi.prod.yaml`);
    writeFileSync(repo.file, PROD_YAML);
    const outside = promote({ version: "v1.2.4", digest: NEW_IMAGE, stackFile: repo.file, callerDir: join(repo.dir, "sub") }, repo.deps);
    expect(outside.next).toMatch(new RegExp(`^git commit -m "promote v1\\.2\\.4" -- ${repo.file.replace(/[.]/g, "\\.")} && `));
  });

  test("without --digest, reads appImageDigest from the dev stack", () => {
    promote({ version: "v1.3.0", stackFile: repo.file, devStack: "dev" }, repo.deps);
    expect(repo.deps.outputCalls).toEqual(["dev:appImageDigest"]);
    expect(parse(readFileSync(repo.file, "utf8")).config["twinstack:app"].image).toBe(NEW_IMAGE);
  });

  test("creates twinstack:app when the stack file has none, leaving the rest", () => {
    const bare = "# prod\nconfig:\n  twinstack:env: prod # env token\n";
    writeFileSync(repo.file, bare);
    repo.git(["commit", "-q", "-am", "bare"]);
    promote({ version: "v2.0.0", digest: NEW_IMAGE, stackFile: repo.file }, repo.deps);
    const written = readFileSync(repo.file, "utf8");
    expect(written.startsWith("# prod\nconfig:\n  twinstack:env: prod # env token\n")).toBe(true);
    expect(parse(written).config["twinstack:app"]).toEqual({ image: NEW_IMAGE, version: "v2.0.0" });
  });
});

describe("promote refusals leave the file untouched", () => {
  test.each([
    ["latest", `${REPO}:latest`, /moving tag ":latest"/],
    ["dev tag", `${REPO}:dev-abc`, /moving tag ":dev-abc"/],
    ["preview tag", `${REPO}:preview-feature-x`, /moving tag ":preview-feature-x"/],
    ["a tag that is no release", `${REPO}:feature-x`, /not a release version/],
    ["no tag at all", REPO, /no tag, which means :latest/],
    ["short digest", `${REPO}@sha256:abc123`, /malformed digest/],
    ["upper-case digest", `${REPO}@sha256:${"A".repeat(64)}`, /malformed digest/],
    ["not a reference", "Gigi App", /not an image reference/],
  ])("rejects %s", (_label, digest, message) => {
    refusal({ version: "v1.2.3", digest, stackFile: repo.file }, message);
  });

  test("rejects a moving tag read from the dev stack", () => {
    repo.deps.pulumiStackOutput = () => `${REPO}:dev-0a1b2c\n`;
    refusal({ version: "v1.2.3", stackFile: repo.file }, /moving tag ":dev-0a1b2c"/);
  });

  test("explains when the dev stack output cannot be read", () => {
    repo.deps.pulumiStackOutput = () => {
      throw Object.assign(new Error("spawn pulumi ENOENT"), { code: "ENOENT" });
    };
    refusal({ version: "v1.2.3", stackFile: repo.file }, /cannot read output appImageDigest of stack dev .*pass --digest/);
  });

  test("rejects a dirty tree", () => {
    writeFileSync(join(repo.dir, "stray.txt"), "x");
    refusal({ version: "v1.2.3", digest: NEW_IMAGE, stackFile: repo.file }, /git tree is dirty \(\?\? stray.txt\)/);
  });

  test("rejects a dirty tree from an uncommitted stack file edit", () => {
    const edited = `${PROD_YAML}# edit\n`;
    writeFileSync(repo.file, edited);
    expect(() => promote({ version: "v1.2.3", digest: NEW_IMAGE, stackFile: repo.file }, repo.deps)).toThrow(/dirty/);
    expect(readFileSync(repo.file, "utf8")).toBe(edited);
  });

  test("rejects an existing git tag", () => {
    repo.git(["tag", "v1.1.0"]);
    refusal({ version: "v1.1.0", digest: NEW_IMAGE, stackFile: repo.file }, /git tag v1.1.0 already exists/);
  });

  test("rejects the version the stack file already pins, even without a tag", () => {
    repo.git(["tag", "-d", "v1.0.0"]);
    refusal({ version: "v1.0.0", digest: NEW_IMAGE, stackFile: repo.file }, /already pins version v1.0.0/);
  });

  test.each(["1.2.3", "v1.2", "latest", "v01.2.3", "v1.2.3 ", "release-1", ""])("rejects bad version %j", (version) => {
    refusal({ version, digest: NEW_IMAGE, stackFile: repo.file }, /not a release tag v<semver>/);
  });

  test("names a --stack-file that does not exist or is a directory, in one line", () => {
    const missing = join(repo.dir, "Pulumi.prdo.yaml");
    refusal({ version: "v1.2.3", digest: NEW_IMAGE, stackFile: missing }, new RegExp(`^${missing.replace(/[.]/g, "\\.")}: no such stack file$`));
    refusal({ version: "v1.2.3", digest: NEW_IMAGE, stackFile: repo.dir }, new RegExp(`^${repo.dir.replace(/[.]/g, "\\.")}: is a directory, not a stack file$`));
  });

  test("refuses a stack file outside the git repository: its printed git commit could not work", () => {
    const elsewhere = mkdtempSync(join(tmpdir(), "promote-outside-"));
    try {
      const outside = join(elsewhere, "prod.yaml");
      writeFileSync(outside, PROD_YAML);
      expect(() => promote({ version: "v2.0.0", digest: NEW_IMAGE, stackFile: outside }, repo.deps)).toThrow(
        new RegExp(`^${outside.replace(/[.]/g, "\\.")} is outside the git repository promote runs in: promote pins a stack file the repository tracks \\(--stack-file\\)$`),
      );
      expect(readFileSync(outside, "utf8")).toBe(PROD_YAML);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  test("refuses a stack file whose twinstack:env is not prod", () => {
    const dev = join(repo.dir, "Pulumi.dev.yaml");
    const devYaml = PROD_YAML.replace("twinstack:env: prod", "twinstack:env: dev");
    writeFileSync(dev, devYaml);
    writeFileSync(join(repo.dir, "Pulumi.none.yaml"), PROD_YAML.replace("  twinstack:env: prod\n", ""));
    repo.git(["add", "."]);
    repo.git(["commit", "-qm", "dev"]);
    expect(() => promote({ version: "v2.0.0", digest: NEW_IMAGE, stackFile: dev, callerDir: repo.dir }, repo.deps)).toThrow(
      /^Pulumi\.dev\.yaml: twinstack:env is "dev", not "prod": promote pins only into a prod stack file \(--stack-file\)$/,
    );
    expect(readFileSync(dev, "utf8")).toBe(devYaml);
    expect(() => promote({ version: "v2.0.0", digest: NEW_IMAGE, stackFile: join(repo.dir, "Pulumi.none.yaml"), callerDir: repo.dir }, repo.deps)).toThrow(
      /^Pulumi\.none\.yaml: twinstack:env is not set, not "prod"/,
    );
  });

  test("names a stack file that is not YAML with the line and column, in one complete line", () => {
    writeFileSync(repo.file, "config:\n  twinstack:app: [unclosed\n");
    repo.git(["commit", "-qam", "broken"]);
    expect(() => promote({ version: "v1.2.3", digest: NEW_IMAGE, stackFile: repo.file }, repo.deps)).toThrow(
      new PromoteError(`${repo.file}: not valid YAML at line 3, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]`),
    );
  });

  test("does not ask the dev stack when a local check already refuses", () => {
    writeFileSync(join(repo.dir, "stray.txt"), "x");
    refusal({ version: "v1.2.3", stackFile: repo.file }, /dirty/);
    expect(repo.deps.outputCalls).toEqual([]);
  });
});

describe("promote and the prod-images-immutable policy agree", () => {
  const refs = [
    `${REPO}@${NEW_DIGEST}`,
    `${REPO}:v1.2.3`,
    `${REPO}:1.2.3`,
    `${REPO}:latest@${NEW_DIGEST}`,
    `${REPO}:latest`,
    `${REPO}:main`,
    `${REPO}:dev-abc`,
    `${REPO}:preview-x`,
    `${REPO}:1.2.3-dev`,
    `${REPO}:feature-x`,
    REPO,
    `${REPO}@sha256:abc`,
  ];
  test.each(refs)("%s", (ref) => {
    expect(immutableImageProblem(ref) === undefined).toBe(mutableImageProblem(ref) === undefined);
  });

  test("a release tag is pinned as is", () => {
    promote({ version: "v1.2.3", digest: `${REPO}:v1.2.3`, stackFile: repo.file }, repo.deps);
    expect(parse(readFileSync(repo.file, "utf8")).config["twinstack:app"].image).toBe(`${REPO}:v1.2.3`);
  });
});

describe("reference checks", () => {
  test("release tags", () => {
    for (const v of ["v0.0.1", "v1.2.3", "v10.20.30", "v1.2.3-rc.1", "v1.0.0+build.5"]) expect(isReleaseTag(v)).toBe(true);
  });

  test("immutable images", () => {
    for (const image of [`gigi@${NEW_DIGEST}`, `ghcr.io/acme/gigi@${NEW_DIGEST}`, `localhost:5000/gigi@${NEW_DIGEST}`, `registry.example.com:443/a/b/c-d_e@${NEW_DIGEST}`]) {
      expect(immutableImageProblem(image)).toBeUndefined();
    }
    expect(immutableImageProblem(`Gigi@${NEW_DIGEST}`)).toMatch(/not an image reference/);
  });
});

describe("CLI", () => {
  test("main prints one line and returns 1 on refusal", () => {
    const errors: string[] = [];
    const spy = jest.spyOn(console, "error").mockImplementation((m: string) => void errors.push(m));
    try {
      expect(main(["v1.2.3", "--digest", `${REPO}:latest`, "--stack-file", repo.file], repo.deps)).toBe(1);
      expect(main([], repo.deps)).toBe(1);
      expect(main(["v1.2.3", "--bogus"], repo.deps)).toBe(1);
      // The stack-name check plan -s has (tools/cli.ts checkStackName).
      expect(main(["v1.2.3", "--dev-stack", "../x", "--stack-file", repo.file], repo.deps)).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(errors).toHaveLength(4);
    expect(errors[3]).toMatch(/^promote: "\.\.\/x" is not a stack name \(Pulumi stack names may only contain .*\); usage: npm run promote/);
    expect(repo.deps.outputCalls).toEqual([]);
    for (const e of errors) {
      expect(e).toMatch(/^promote: /);
      expect(e).not.toContain("\n");
    }
    expect(errors[1]).toMatch(/usage: npm run promote/);
    expect(readFileSync(repo.file, "utf8")).toBe(PROD_YAML);
  });

  test("as a process: exit 1, one-line stderr, no stack trace; exit 0 on success", () => {
    // `npm run promote` runs the compiled tool (tools/build.js, built by jest's globalSetup).
    const script = require("../tools/build.js").compiled("tools/promote.ts");
    const run = (args: string[], callerDir = repo.dir) =>
      spawnSync(process.execPath, [script, ...args], {
        cwd: repo.dir,
        encoding: "utf8",
        env: { ...process.env, ...GIT_IDENTITY, TWINSTACK_CALLER_DIR: callerDir },
      });
    const bad = run(["v1.2.3", "--digest", `${REPO}:dev-abc`]);
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/^promote: image .* uses the moving tag ":dev-abc"/);
    expect(bad.stderr).not.toMatch(/\bat \S+ \(/);

    // Run from a subdirectory (the tool itself runs in the project root, as npm run and npx
    // twinstack start it): the default stack file is the root's, and the printed commands name it
    // so that they work where the user typed the command.
    const sub = join(repo.dir, "sub");
    mkdirSync(sub);
    const good = run(["v1.2.3", "--digest", NEW_IMAGE], sub);
    expect(good.stderr).toBe("");
    expect(good.status).toBe(0);
    expect(good.stdout).toContain(`pinned ${NEW_IMAGE} as v1.2.3 in ${repo.file}\n`);
    expect(good.stdout).toContain(`git commit -m "promote v1.2.3" -- ${repo.file} && git tag -a v1.2.3`);
    expect(readFileSync(repo.file, "utf8")).toContain(NEW_IMAGE);
    const local = good.stdout
      .split("\n")
      .find((l) => l.startsWith("git commit"))!
      .replace(/ && git push .*$/, "");
    execFileSync("sh", ["-c", local], { cwd: sub, stdio: "pipe", env: { ...process.env, ...GIT_IDENTITY } });
    expect(repo.git(["status", "--porcelain"])).toBe("");
    expect(repo.git(["show", "v1.2.3:Pulumi.prod.yaml"])).toContain(NEW_IMAGE);
  });
});
