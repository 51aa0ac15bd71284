// Runs the member test files of one group (tests/groups.js) in this jest test file: each member is
// required inside a `describe` named after its path, so its tests, hooks and describes keep their
// order and nest under that name ("tests/slug.test.ts › branchSlug › ..."), and its beforeAll and
// afterAll hooks run around its own tests only. The members share this file's module registry, so
// the SDK and the program's modules load once for the group.
//
// Under `npm run bench -- --tests` (TWINSTACK_SUITE_CPU_LOG names a file, see
// tests/support/cpuEnvironment.js) each member appends one JSON line with its own figures, so the
// bench's per-suite table keeps one row per test file: `testPath` (the member's absolute path),
// `group` (this file's path), `seconds` (wall time: loading the member, then from its first hook to
// its last), `cpu` (this worker's user+system seconds over the same spans) and `childrenCpu` (its
// waited-for children's, /proc/self/stat).
import * as fs from "fs";
import * as path from "path";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { GROUPS } = require("../groups.js") as { GROUPS: Record<string, string[]> };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { childrenCpuSeconds } = require("./childrenCpu") as { childrenCpuSeconds(): number };

const ROOT = path.resolve(__dirname, "../..");

interface Span {
  wallNs: bigint;
  cpu: NodeJS.CpuUsage;
  children: number;
}

function begin(): Span {
  return { wallNs: process.hrtime.bigint(), cpu: process.cpuUsage(), children: childrenCpuSeconds() };
}

function end(span: Span): { seconds: number; cpu: number; childrenCpu: number } {
  const cpu = process.cpuUsage(span.cpu);
  return { seconds: Number(process.hrtime.bigint() - span.wallNs) / 1e9, cpu: (cpu.user + cpu.system) / 1e6, childrenCpu: childrenCpuSeconds() - span.children };
}

/**
 * Declares the tests of every member of group `name` (a key of tests/groups.js), in the order listed.
 * Throws (failing the group's collection) for an unknown group or a member file that does not exist.
 */
export function runGroup(name: string, groupFile: string): void {
  const members = GROUPS[name];
  if (!members) throw new Error(`tests/groups.js has no group ${JSON.stringify(name)}`);
  const log = process.env.TWINSTACK_SUITE_CPU_LOG;
  for (const member of members) {
    const file = path.join(ROOT, member);
    if (!fs.existsSync(file)) throw new Error(`tests/groups.js: group ${name} lists ${member}, which does not exist`);
    describe(member, () => {
      const totals = { seconds: 0, cpu: 0, childrenCpu: 0 };
      const add = (t: typeof totals) => ((totals.seconds += t.seconds), (totals.cpu += t.cpu), (totals.childrenCpu += t.childrenCpu));
      let running: Span | undefined;
      // Registered before the member's own hooks: runs first, and the one below last.
      if (log) beforeAll(() => void (running = begin()));
      const loading = begin();
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(file);
      add(end(loading));
      if (log)
        afterAll(() => {
          if (running) add(end(running));
          fs.appendFileSync(log, `${JSON.stringify({ testPath: file, group: groupFile, ...totals })}\n`);
        });
    });
  }
}
