// Sampling throughput on a ~100k-row Makapix-like dataset in a throwaway PostgreSQL.
// `rows` is what the sampler wrote into the target; `seconds` covers selection and copy
// (one runSample call), not server start-up or data generation.
import { Client } from "pg";
import { MAKAPIX_SCHEMA, seedMakapix } from "../tests/support/makapixSchema";
import { startPgServer } from "../tests/support/pgServer";
import { parseConfig } from "./sampler/config";
import { runSample } from "./sampler/run";
import { exitWhenFlushed } from "./exit";

/** About 22 rows per user across the eight tables: 4,500 users make ~100k rows. */
const USERS = 4500;

const CONFIG = `
root: users
percent: 10
follow: [posts, comments, reactions, follows, follow_events, auth_tokens]
anonymize:
  users.email: "user{id}@dev.invalid"
  auth_tokens.token: random
  auth_tokens.expires_at: "1970-01-01T00:00:00Z"
`;

export async function benchSampling(): Promise<{ rows: number; seconds: number; rowsPerSecond: number }> {
  const pg = await startPgServer();
  try {
    const from = await pg.createDb("bench_prod");
    const to = await pg.createDb("bench_dev");
    for (const url of [from, to]) {
      const c = new Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(MAKAPIX_SCHEMA);
        if (url === from) await seedMakapix(c, USERS);
      } finally {
        await c.end();
      }
    }
    const result = await runSample({ from, to, config: parseConfig(CONFIG, "bench config"), seed: "bench" });
    return { rows: result.totalRows, seconds: result.seconds, rowsPerSecond: result.totalRows / result.seconds };
  } finally {
    await pg.stop();
  }
}

if (require.main === module) {
  benchSampling().then(
    (r) => console.log(`sampling: ${r.rows} rows in ${r.seconds.toFixed(2)} s = ${Math.round(r.rowsPerSecond)} rows/s`),
    (e) => {
      console.error(e);
      void exitWhenFlushed(1);
    },
  );
}
