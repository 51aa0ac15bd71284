// Sampler throughput against the physical reference, in a throwaway PostgreSQL:
//   node dist/tools/bench-sample.js [--rows 1000000]   (npm run bench runs it after the plan figures)
// 1. Generates a Makapix-like dataset of about `rows` rows (set-based statements; the time is printed).
// 2. For 10% and 100% of users: runSample into an empty database (rows/s over selection and copy,
//    peak RSS of this process while it runs), then the same rows moved table by table with
//    `COPY … TO STDOUT` piped into `COPY … FROM STDIN` on the same server, into the same schema
//    (constraints deferred, one transaction): rows/s of that reference, and the ratio (goal >= 0.5).
import { pipeline } from "node:stream/promises";
import { Client } from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { MAKAPIX_SCHEMA, MAKAPIX_TABLES, seedMakapix } from "./makapixSchema";
import { startPgServer } from "./pgServer";
import { qualified, quoteIdent, readCatalog } from "./sampler/catalog";
import { parseConfig } from "./sampler/config";
import { runSample } from "./sampler/run";
import { exitWhenFlushed } from "./exit";

/** seedMakapix writes about 22 rows per user across the eight tables. */
const ROWS_PER_USER = 22;

const CONFIG = `
root: users
follow: [posts, comments, reactions, follows, follow_events, auth_tokens]
anonymize:
  users.email: "user{id}@dev.invalid"
  auth_tokens.token: random
  auth_tokens.expires_at: "1970-01-01T00:00:00Z"
`;

export interface SamplerFigure {
  percent: number;
  rows: number;
  samplerSeconds: number;
  samplerRowsPerSecond: number;
  peakRssMb: number;
  copySeconds: number;
  copyRowsPerSecond: number;
  /** sampler rows/s divided by COPY rows/s (goal >= 0.5). */
  ratio: number;
}

export interface SamplerBench {
  sourceRows: number;
  generateSeconds: number;
  figures: SamplerFigure[];
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

/** The physical reference: every table of `from` into the empty `to`, by COPY, parents first. */
async function copyReference(from: string, to: string): Promise<{ rows: number; seconds: number }> {
  return withClient(from, (src) =>
    withClient(to, async (dst) => {
      const catalog = await readCatalog(src, "public");
      const started = process.hrtime.bigint();
      let rows = 0;
      await dst.query("BEGIN");
      await dst.query("SET CONSTRAINTS ALL DEFERRED");
      for (const name of MAKAPIX_TABLES) {
        const cols = catalog.tables
          .find((t) => t.name === name)!
          .columns.filter((c) => !c.generated)
          .map((c) => quoteIdent(c.name))
          .join(", ");
        const out = src.query(copyTo(`COPY ${qualified("public", name)} (${cols}) TO STDOUT`));
        const into = dst.query(copyFrom(`COPY ${qualified("public", name)} (${cols}) FROM STDIN`));
        await pipeline(out, into);
        rows += Number(into.rowCount);
      }
      await dst.query("COMMIT");
      return { rows, seconds: seconds(started) };
    }),
  );
}

export async function benchSampling(rows = 1_000_000, log: (line: string) => void = () => undefined): Promise<SamplerBench> {
  const pg = await startPgServer();
  try {
    const from = await pg.createDb("bench_prod");
    await withClient(from, (c) => c.query(MAKAPIX_SCHEMA));
    log(`generating a Makapix-like dataset of about ${rows} rows`);
    const generated = process.hrtime.bigint();
    await withClient(from, (c) => seedMakapix(c, Math.round(rows / ROWS_PER_USER)));
    const generateSeconds = seconds(generated);
    const sourceRows = await withClient(from, async (c) => {
      let n = 0;
      for (const t of MAKAPIX_TABLES) n += Number((await c.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
      return n;
    });
    log(`generated ${sourceRows} rows in ${generateSeconds.toFixed(1)} s`);

    const figures: SamplerFigure[] = [];
    for (const percent of [10, 100]) {
      const to = await pg.createDb(`bench_dev_${percent}`);
      const ref = await pg.createDb(`bench_ref_${percent}`);
      for (const url of [to, ref]) await withClient(url, (c) => c.query(MAKAPIX_SCHEMA));
      let peak = process.memoryUsage().rss;
      const probe = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
      let result;
      try {
        result = await runSample({ from, to, config: parseConfig(CONFIG, "bench config"), percent, seed: "bench" });
      } finally {
        clearInterval(probe);
      }
      const copy = await copyReference(to, ref);
      if (copy.rows !== result.totalRows) throw new Error(`reference copied ${copy.rows} rows, the sampler ${result.totalRows}`);
      const samplerRowsPerSecond = result.totalRows / result.seconds;
      const copyRowsPerSecond = copy.rows / copy.seconds;
      const figure = {
        percent,
        rows: result.totalRows,
        samplerSeconds: result.seconds,
        samplerRowsPerSecond,
        peakRssMb: peak / 2 ** 20,
        copySeconds: copy.seconds,
        copyRowsPerSecond,
        ratio: samplerRowsPerSecond / copyRowsPerSecond,
      };
      figures.push(figure);
      log(formatFigure(figure));
    }
    return { sourceRows, generateSeconds, figures };
  } finally {
    await pg.stop();
  }
}

export function formatFigure(f: SamplerFigure): string {
  return (
    `${`${f.percent}% of users`.padEnd(14)} ${String(f.rows).padStart(9)} rows  sampler ${f.samplerSeconds.toFixed(1).padStart(6)} s ` +
    `${String(Math.round(f.samplerRowsPerSecond)).padStart(7)} rows/s (peak RSS ${f.peakRssMb.toFixed(0)} MiB)  ` +
    `COPY|COPY ${f.copySeconds.toFixed(1).padStart(6)} s ${String(Math.round(f.copyRowsPerSecond)).padStart(7)} rows/s  ` +
    `ratio ${f.ratio.toFixed(2)} (goal >= 0.5) ${f.ratio >= 0.5 ? "ok" : "MISSED"}`
  );
}

export function formatBench(b: SamplerBench): string {
  return [
    `sampler: dataset of ${b.sourceRows} rows generated in ${b.generateSeconds.toFixed(1)} s (goal < 60 s) ${b.generateSeconds < 60 ? "ok" : "MISSED"}`,
    ...b.figures.map(formatFigure),
  ].join("\n");
}

if (require.main === module) {
  const i = process.argv.indexOf("--rows");
  const rows = i > 0 ? Number(process.argv[i + 1]) : 1_000_000;
  if (!Number.isInteger(rows) || rows < 1000) {
    console.error(`bench-sample: --rows must be a whole number >= 1000, got ${process.argv[i + 1]}`);
    void exitWhenFlushed(1);
  } else {
    benchSampling(rows, (line) => console.error(`bench-sample: ${line}`)).then(
      (r) => console.log(formatBench(r)),
      (e) => {
        console.error(e);
        void exitWhenFlushed(1);
      },
    );
  }
}
