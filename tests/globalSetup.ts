// Once per `jest` run, before any worker starts: bring the compiled program and tools (dist/, see
// tools/build.js) up to date, so the suites that start the CLIs as processes find them built and
// no two workers build at once.
export default async function globalSetup(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("../tools/build.js").ensureBuilt();
}
