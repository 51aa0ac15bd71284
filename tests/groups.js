// Test files that a full `npm test` runs together, a few jest test files (groups) instead of one
// each. Jest gives every test file its own module registry and environment, so each file loads the
// Pulumi SDK, zod, yaml and the program's modules again: about 0.25 s of CPU per file on this
// project before its first test runs. A group loads them once for all its members
// (tests/support/testGroup.ts requires each member inside a `describe` named after it).
//
// Members are files whose tests run in the worker itself (no real program, no long wait on a
// process) and that leave no state behind for the next file. A file stays on its own (not listed
// here) when:
// - it starts processes or real programs (tests/consumers/*, the CLI suites): on its own, its waits
//   overlap other files' CPU in the other worker;
// - it changes process-wide state for its whole life (tests/backupJob.test.ts sets the SDK's mocks
//   at load time) or waits on a process it does not own (tests/policy.pack.test.ts).
// A new test file runs on its own until it is added here.
//
// The groups are balanced by the CPU time their members took in `npm run bench -- --tests`
// (2026-11-30; 11.7 s each before grouping). jest.config.js runs the groups only on a full run;
// asked for files or patterns (`npx jest tests/slug.test.ts`, `--watch`), jest runs the files
// themselves (`selection` below). tests/testGroups.test.ts checks that every test file runs exactly
// once either way, and that no member calls jest.setTimeout or .only (which would reach its whole group).
"use strict";

/** Group name (its file is tests/groups/<name>.test.ts) -> member test files, from the repository root. */
const GROUPS = {
  "group-1": [
    "tests/haPostgres.test.ts",
    "tests/invariants.test.ts",
    "tests/model.test.ts",
    "tests/names.test.ts",
    "tests/policies/budget.test.ts",
    "tests/policies/firewall.test.ts",
    "tests/policies/naming.test.ts",
    "tests/policies/preview.test.ts",
    "tests/policies/protection.test.ts",
    "tests/policy.mutations.test.ts",
    "tests/release.test.ts",
    "tests/runnerFleet.test.ts",
    "tests/tenants.test.ts",
    "tests/virtualIp.test.ts",
  ],
  "group-2": [
    "tests/cloudInit.test.ts",
    "tests/configReference.test.ts",
    "tests/e2eFindings.test.ts",
    "tests/monitoringRender.test.ts",
    "tests/pgInit.test.ts",
    "tests/planMemo.test.ts",
    "tests/policies/crossStack.test.ts",
    "tests/policies/images.test.ts",
    "tests/policies/offline.test.ts",
    "tests/sampler.test.ts",
    "tests/slug.test.ts",
    "tests/validation.property.test.ts",
    "tests/workload.test.ts",
  ],
  "group-3": [
    "tests/appContract.test.ts",
    "tests/harness.test.ts",
    "tests/images.test.ts",
    "tests/keepalived.test.ts",
    "tests/monitoring.test.ts",
    "tests/patroni.test.ts",
    "tests/policies/runners.test.ts",
    "tests/postgresDatabase.test.ts",
    "tests/publicSurface.test.ts",
    "tests/readme.test.ts",
    "tests/samplerPackage.test.ts",
    "tests/swarmPorts.test.ts",
    "tests/urnBaseline.test.ts",
  ],
  "group-4": [
    "tests/caddyfile.test.ts",
    "tests/composePreviewRunners.test.ts",
    "tests/e2e/apply/engine.test.ts",
    "tests/examples.test.ts",
    "tests/handoff.test.ts",
    "tests/haproxy.test.ts",
    "tests/issue14.test.ts",
    "tests/mosquitto.test.ts",
    "tests/policies/health.test.ts",
    "tests/policies/proxy.test.ts",
    "tests/previewEnv.test.ts",
    "tests/scriptFile.test.ts",
    "tests/stacks.test.ts",
    "tests/yamlParse.test.ts",
  ],
};

/** Every member of every group, from the repository root. */
const GROUPED = Object.values(GROUPS).flat();

/**
 * Which files a jest command line (`args`, without node and jest) runs, as jest.config.js applies it:
 * - `{ members: false, groups: true }` on a full run (no path, pattern or selection below): the groups
 *   run, their members not on their own;
 * - `{ members: true, groups: false }` when it asks for particular test files: a path or pattern,
 *   --testPathPattern, --testPathIgnorePatterns or --testMatch (they replace the config's own), a
 *   selection by changed files (-o, --changedSince, --lastCommit,
 *   --findRelatedTests) or --watch/--watchAll: the files run themselves, the groups do not, unless a
 *   path or pattern names tests/groups/ (`npx jest tests/groups/group-1.test.ts` runs that group);
 * - `{ members: true, groups: true }` for --onlyFailures (-f): it runs exactly the paths that failed
 *   last time, a group's or a file's, so neither is left out (a file whose group also failed last
 *   time runs twice then: alone and in its group).
 * A command line that names both a group and one of its members (`tests/groups/group-2.test.ts
 * tests/slug.test.ts`) runs that member twice, as asked.
 * Parsed with jest's own options (jest-cli's yargsOptions, the table its command line is parsed
 * with), so an option's value (-t's, -w's) is never taken for a path.
 */
function selection(args) {
  const { yargsOptions } = require("jest-cli");
  const argv = require("yargs/yargs")(args).options(yargsOptions).help(false).version(false).parse();
  if (argv.onlyFailures) return { members: true, groups: true };
  const patterns = [...argv._.map(String), ...[].concat(argv.testPathPattern ?? [])];
  const files =
    patterns.length > 0 ||
    argv.testPathIgnorePatterns !== undefined ||
    argv.testMatch !== undefined ||
    Boolean(argv.findRelatedTests || argv.onlyChanged || argv.changedSince || argv.lastCommit || argv.watch || argv.watchAll);
  if (!files) return { members: false, groups: true };
  return { members: true, groups: patterns.some((p) => p.includes("groups/") || /(^|\/)groups$/.test(p)) };
}

module.exports = { GROUPS, GROUPED, selection };
