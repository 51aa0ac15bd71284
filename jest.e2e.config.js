/** @type {import('jest').Config} */
// `npm run e2e`: the scenarios against a real Docker engine (tests/e2e/README in the main README's
// "End-to-end" section). One at a time, in order: they share the engine and build on each other.
const base = require("./jest.config");

module.exports = {
  ...base,
  testMatch: ["<rootDir>/tests/e2e/**/*.e2e.test.ts"],
  testPathIgnorePatterns: ["/node_modules/"],
  maxWorkers: 1,
  // Image builds, health gates and backup intervals take minutes, not seconds.
  testTimeout: 15 * 60 * 1000,
};
