/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  // swc strips types without type-checking: fast on 2 cores. `npm run typecheck` does the checking.
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" } }] },
  testTimeout: 60000,
  // One fixed fast-check seed in CI (FC_SEED overrides it).
  setupFilesAfterEnv: ["<rootDir>/tests/support/fastCheckSeed.ts"],
};
