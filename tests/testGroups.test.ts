// tests/groups.js, jest.config.js and tests/support/sequencer.js: a full run runs every test file
// exactly once, grouped or on its own; asked for files, jest runs the files themselves; a run without
// cached times starts the groups with the largest files.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { GROUPS, GROUPED, selection } = require("./groups.js") as {
  GROUPS: Record<string, string[]>;
  GROUPED: string[];
  selection(args: string[]): { members: boolean; groups: boolean };
};
const ROOT = path.resolve(__dirname, "..");

/** `jest --listTests` with these arguments: the test files it would run, from the repository root, sorted. */
function listTests(args: string[]): string[] {
  const r = spawnSync(process.execPath, [require.resolve("jest/bin/jest"), "--listTests", ...args], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`jest --listTests ${args.join(" ")} exited ${r.status}:\n${r.stderr}`);
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map((f) => path.relative(ROOT, f))
    .sort();
}

describe("the groups of tests/groups.js", () => {
  test("every member is an existing test file of tests/, in one group only, and every group has its file in tests/groups/", () => {
    expect(GROUPED.filter((f) => !/^tests\/.+\.test\.ts$/.test(f) || /^tests\/(groups|consumers)\/|\.e2e\.test\.ts$/.test(f))).toEqual([]);
    expect(GROUPED.filter((f) => !fs.existsSync(path.join(ROOT, f)))).toEqual([]);
    expect(GROUPED.filter((f, i) => GROUPED.indexOf(f) !== i)).toEqual([]);
    const groupFiles = fs.readdirSync(path.join(ROOT, "tests/groups")).sort();
    expect(groupFiles).toEqual(
      Object.keys(GROUPS)
        .map((g) => `${g}.test.ts`)
        .sort(),
    );
    for (const g of Object.keys(GROUPS)) {
      expect(fs.readFileSync(path.join(ROOT, "tests/groups", `${g}.test.ts`), "utf8")).toContain(`runGroup(${JSON.stringify(g)}, __filename)`);
    }
  });

  test("no member sets a timeout or an .only, which would reach every file of its group", () => {
    // jest.setTimeout sets the default for the whole test file (the group); a .only (or fit/fdescribe)
    // skips every test of the group outside it, with exit 0.
    // In any spelling: test.only, test.concurrent.only, a chain across lines, ["only"], and jasmine's
    // fit/fdescribe/xdescribe.
    const reach = /\bjest\s*\.\s*setTimeout\s*\(|\b(test|it|describe)(\s*\.\s*\w+)*\s*\.\s*only\b|\[\s*["'`]only["'`]\s*\]|\b(fit|fdescribe|xdescribe)\s*\(/;
    for (const caught of ["test.only(", "test.concurrent.only(", "test\n  .only(", 'it["only"](', "describe.skip.only", "fit(", "jest.setTimeout(5)"])
      expect([caught, reach.test(caught)]).toEqual([caught, true]);
    for (const fine of ["test.each([1])", "const onlyOnce = 1;", "// run only this", "describe.skip("]) expect([fine, reach.test(fine)]).toEqual([fine, false]);
    expect(GROUPED.filter((f) => reach.test(fs.readFileSync(path.join(ROOT, f), "utf8")))).toEqual([]);
  });

  test("a full run lists the groups and no member; asked for the whole tests/ tree, jest lists every file and no group; together, each file once", () => {
    // An option's value is not taken for a path (-t's, -w's): this is still a full run (selection, below).
    const full = listTests(["-t", "tests/slug.test.ts", "-w", "2"]);
    const files = listTests(["tests/"]);
    const groupFiles = Object.keys(GROUPS).map((g) => `tests/groups/${g}.test.ts`);
    expect(full).toEqual(expect.arrayContaining(groupFiles));
    expect(full.filter((f) => GROUPED.includes(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith("tests/groups/"))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(GROUPED));
    // Every test file of the per-file run runs in the full run, directly or in its group, once.
    const fullExpanded = full.flatMap((f) => (groupFiles.includes(f) ? GROUPS[path.basename(f, ".test.ts")] : [f])).sort();
    expect(fullExpanded).toEqual(files);
  });

  test("selection reads jest's command line as jest does", () => {
    const full = { members: false, groups: true };
    const files = { members: true, groups: false };
    const cases: [string[], { members: boolean; groups: boolean }][] = [
      [[], full],
      [["-t", "slug"], full],
      [["--json", "--outputFile=/tmp/r.json"], full],
      [["-w", "2"], full],
      [["--testNamePattern", "a b"], full],
      [["--ci", "--runInBand"], full],
      [["-c", "jest.config.js"], full],
      [["--shard=1/2"], full],
      [["tests/slug.test.ts"], files],
      [["slug"], files],
      [["-w", "2", "slug"], files],
      [["--testPathPattern", "slug"], files],
      [["--testPathIgnorePatterns", "/node_modules/"], files],
      [["--testMatch", "**/slug.test.ts"], files],
      [["--testMatch", "**/*.test.ts"], files],
      [["-o"], files],
      [["--changedSince", "main"], files],
      [["--findRelatedTests", "model/slug.ts"], files],
      [["--watch"], files],
      // A path or pattern naming the groups runs them.
      [["tests/groups/group-1.test.ts"], { members: true, groups: true }],
      [["tests/groups"], { members: true, groups: true }],
      // -f runs exactly what failed last, a group or a file.
      [["-f"], { members: true, groups: true }],
    ];
    expect(cases.map(([args]) => [args, selection(args)])).toEqual(cases);
  });
});

describe("tests/support/sequencer.js", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Sequencer = require("./support/sequencer.js") as new () => { sort(tests: unknown[]): { path: string }[] };
  // Made when the block's test runs, not when jest collects it (a run filtered with -t would leave it).
  let cacheDirectory: string;
  beforeAll(() => void (cacheDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-sequencer-"))));
  afterAll(() => fs.rmSync(cacheDirectory, { recursive: true, force: true }));
  const test_ = (rel: string) => ({
    path: path.join(ROOT, rel),
    context: { config: { cacheDirectory, name: "sequencer-test", id: "sequencer-test" }, hasteFS: { getSize: (p: string) => fs.statSync(p).size } },
  });
  const size = (rel: string) => fs.statSync(path.join(ROOT, rel)).size;

  test("without cached times, a group weighs its members' files together: it runs before a file smaller than they are, though larger than its own file", () => {
    const [name, members] = Object.entries(GROUPS)[0];
    const groupRel = `tests/groups/${name}.test.ts`;
    const weight = members.reduce((n, f) => n + size(f), 0);
    const candidates = fs
      .readdirSync(path.join(ROOT, "tests"))
      .filter((f) => f.endsWith(".test.ts") && !GROUPED.includes(`tests/${f}`))
      .map((f) => `tests/${f}`);
    const smaller = candidates.find((f) => size(f) < weight && size(f) > size(groupRel))!;
    const sorted = new Sequencer().sort([test_(smaller), test_(groupRel)]).map((t) => path.relative(ROOT, t.path));
    // Jest's own order (by file size) would put the group's few lines last.
    expect(size(groupRel)).toBeLessThan(size(smaller));
    expect(sorted).toEqual([groupRel, smaller]);
  });
});
