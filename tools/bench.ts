// npm run bench: figures, not assertions. Wall time and peak memory of the offline plan for prod
// and dev (each run in its own process, so peak RSS is the plan's own), and the sampler's
// throughput on a generated 100k-row dataset when PostgreSQL is installed.
import * as fs from "fs";
import * as path from "path";
import { runPlanCli } from "./planCli";
import { exitWhenFlushed } from "./exit";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function planOnce(stack: string): { wallMs: number; maxRssMb: number; resources: number } {
  const started = process.hrtime.bigint();
  const child = runPlanCli(["-s", stack, "--json"], { ...process.env, TWINSTACK_PLAN_STATS: "1" });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const stats = /TWINSTACK_PLAN_STATS (\{.*\})/.exec(child.stderr ?? "");
  if (!stats) throw new Error(`plan -s ${stack} failed (exit ${child.status}):\n${child.stderr}`);
  const { maxRssKb } = JSON.parse(stats[1]);
  const resources = JSON.parse(child.stdout).resources.length;
  return { wallMs, maxRssMb: maxRssKb / 1024, resources };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main() {
  console.log(`offline plan, ${RUNS} runs each (wall time includes node + ts-node start-up)`);
  console.log("stack   resources  wall median  wall min   peak RSS");
  for (const stack of ["prod", "dev"]) {
    const runs = Array.from({ length: RUNS }, () => planOnce(stack));
    const wall = runs.map((r) => r.wallMs);
    console.log(
      `${stack.padEnd(7)} ${String(runs[0].resources).padStart(9)}  ${median(wall).toFixed(0).padStart(8)} ms  ${Math.min(...wall).toFixed(0).padStart(6)} ms  ${Math.max(...runs.map((r) => r.maxRssMb)).toFixed(0).padStart(5)} MiB`,
    );
  }

  const samplerBench = path.join(__dirname, "bench-sample.ts");
  if (fs.existsSync(samplerBench) && fs.existsSync("/usr/lib/postgresql")) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { benchSampling } = require(samplerBench);
    const r = await benchSampling();
    console.log(`\nsampler: ${r.rows} rows copied in ${r.seconds.toFixed(2)} s = ${Math.round(r.rowsPerSecond)} rows/s`);
  } else {
    console.log("\nsampler: skipped (PostgreSQL server binaries not installed)");
  }
}

main().catch((err) => {
  console.error(err.message ?? err);
  void exitWhenFlushed(1);
});
