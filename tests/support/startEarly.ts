// Processes a suite's tests wait for, started together before the tests instead of one after
// another inside them. A suite declares each run with startEarly (at collection time, outside the
// tests), calls startAllEarly in a top-level beforeAll, and each test awaits the run it checks and
// asserts on it as before: the same processes with the same inputs, only no longer waiting for
// each other. (tools/planCli.ts spawnAsync runs a few at a time.)

const starters: (() => void)[] = [];
const runs: Promise<unknown>[] = [];

/** Declares a run; the returned function starts it (once) and gives its promise. */
export function startEarly<T>(start: () => Promise<T>): () => Promise<T> {
  let started: Promise<T> | undefined;
  const get = (): Promise<T> => {
    if (!started) {
      started = start();
      started.catch(() => undefined); // reported by the test that awaits it
      runs.push(started);
    }
    return started;
  };
  starters.push(() => void get());
  return get;
}

/** Starts every run declared so far (in declaration order). */
export function startAllEarly(): void {
  for (const start of starters.splice(0)) start();
}

/** Resolves once every started run has ended (for an afterAll that removes their files). */
export async function allEnded(): Promise<void> {
  await Promise.allSettled(runs);
}
