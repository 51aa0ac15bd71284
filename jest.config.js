const { GROUPED, selection } = require("./tests/groups");

// A full run (`npm test`) runs the files tests/groups.js lists through its groups (tests/groups/*.test.ts),
// a few jest test files instead of one each: they then load the SDK and the program once per group.
// Asked for particular files or patterns, jest runs the files themselves and not the groups
// (tests/groups.js `selection`). Members are left out by testPathIgnorePatterns; groups by both
// testMatch and testPathIgnorePatterns, so that a command line replacing either one (which makes it
// a run of files) still leaves the groups out.
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const runs = selection(process.argv.slice(2));
const membersNotRun = runs.members ? [] : GROUPED.map((f) => `<rootDir>/${escape(f)}$`);
const groupsNotMatched = runs.groups ? [] : ["!**/tests/groups/**"];
const groupsNotRun = runs.groups ? [] : ["<rootDir>/tests/groups/"];

/** @type {import('jest').Config} */
module.exports = {
  // jest's node environment; under `npm run bench -- --tests` it also logs each suite's CPU time.
  testEnvironment: "<rootDir>/tests/support/cpuEnvironment.js",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts", ...groupsNotMatched],
  // The real-engine scenarios run with `npm run e2e` (jest.e2e.config.js), not with `npm test`.
  testPathIgnorePatterns: ["/node_modules/", "\\.e2e\\.test\\.ts$", ...membersNotRun, ...groupsNotRun],
  // swc strips types without type-checking: fast on 2 cores. `npm run typecheck` does the checking.
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" } }] },
  // Builds dist/ (the compiled CLIs the process-level tests start) once, before the workers,
  // and makes a directory for the run's one PostgreSQL template cluster (tests/support/pgServer.ts).
  globalSetup: "<rootDir>/tests/globalSetup.ts",
  globalTeardown: "<rootDir>/tests/globalTeardown.ts",
  // The SDK's bookkeeping stack traces are not source-mapped (tests/jestSetup.ts).
  // (One key for both setup files: a second setupFilesAfterEnv key silently replaced the first.)
  setupFilesAfterEnv: ["<rootDir>/tests/jestSetup.ts", "<rootDir>/tests/support/fastCheckSeed.ts"],
  // The SDK loads the TypeScript compiler and npm's arborist for function serialization, which no
  // test does: jest gets the real modules loaded on first use (tests/support/lazy/lazyModule.js).
  moduleNameMapper: {
    "^typescript$": "<rootDir>/tests/support/lazy/typescript.js",
    "^@npmcli/arborist$": "<rootDir>/tests/support/lazy/arborist.js",
    // The SDK's Automation API, required by its index.js as "./automation" (the only such require
    // under node_modules): no test uses it.
    "^\\./automation$": "<rootDir>/tests/support/lazy/automation.js",
    // zod's bundle of every language's messages, required by zod's entry points as "../locales/index.cjs"
    // (the only such requires under node_modules): the project's messages are English (locales/en.cjs).
    "^\\.\\./locales/index\\.cjs$": "<rootDir>/tests/support/lazy/zodLocales.js",
    // gRPC, which only a real engine's connection uses: @grpc/grpc-js, and the SDK's generated clients
    // that the SDK requires as "../proto/<name>_grpc_pb" (the only such requires under node_modules).
    "^@grpc/grpc-js$": "<rootDir>/tests/support/lazy/grpc.js",
    "^\\.\\./proto/(engine|resource|callback|provider)_grpc_pb$": "<rootDir>/tests/support/lazy/proto/$1_grpc_pb.js",
  },
  // Two workers on the 2-core CI machine (jest's default is cores - 1 = one): the real-consumer
  // suites mostly wait on the programs they start, so the unit suites run beside them. Measured on 17
  // suites (policies, examples, shellcheck, keepalived, pgInit), 2 interleaved runs each on the busy
  // 2-core machine: 66 s wall with two workers vs 86 s with one (0.78x), for 1.16x the CPU.
  maxWorkers: 2,
  // Jest's order, with the groups weighed by their members when no times are cached (tests/support/sequencer.js).
  testSequencer: "<rootDir>/tests/support/sequencer.js",
  testTimeout: 60000,
  // tests/support/fastCheckSeed.ts (above): one fixed fast-check seed in CI (FC_SEED overrides it).
};
