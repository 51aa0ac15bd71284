/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  // The real-engine scenarios run with `npm run e2e` (jest.e2e.config.js), not with `npm test`.
  testPathIgnorePatterns: ["/node_modules/", "\\.e2e\\.test\\.ts$"],
  // swc strips types without type-checking: fast on 2 cores. `npm run typecheck` does the checking.
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" } }] },
  testTimeout: 60000,
};
