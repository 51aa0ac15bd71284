// Moved to tools/harness/sdkStackTraces.ts with the harness that uses it; kept here for tests/jestSetup.ts.
export * from "../tools/harness/sdkStackTraces";
