// npm run sample -- --from <url> --to <url> --root users --percent 10 [--config sample.yaml] [--seed N]
//   [--replace] [--create-schema] [--dry-run] [--schema public]
// Refreshes a dev database with a sampled, anonymized, referentially complete copy of prod.
// URLs may also come from SAMPLE_FROM_URL / SAMPLE_TO_URL, to keep passwords off the command line.
import * as fs from "node:fs";
import { parseConfig } from "./sampler/config";
import { emptyConfig, runSample, SampleError, SampleResult } from "./sampler/run";
import { redactUrl } from "./sampler/safety";
import { fromCaller, parseCommandLine } from "./cli";
import { exitWhenFlushed } from "./exit";

const USAGE = `usage: npm run sample -- --from <postgres-url> --to <postgres-url> --root <table> --percent <n>
         [--config <sample.yaml>] [--seed <s>] [--schema <name>] [--replace] [--create-schema] [--dry-run]
  --from / --to     source and target URLs (or SAMPLE_FROM_URL / SAMPLE_TO_URL)
  --root, --percent override root/percent from the config
  --config          YAML rules (see tools/sampler/sample.example.yaml); without it nothing but the
                    root sample and its parents is copied, and sensitive-looking columns are refused
  --seed            same seed + same data = same sample (default: random, printed)
  --replace         truncate the target's tables first (default: they must be empty)
  --create-schema   copy the source schema into the target with pg_dump --schema-only first
  --dry-run         select and report only; write nothing
  -h, --help        this help`;

export function formatSummary(r: SampleResult): string {
  const width = Math.max(5, ...r.tables.map((t) => t.table.length));
  const lines = [
    `${r.dryRun ? "dry run: would copy" : "copied"} from ${r.source}${r.target && !r.dryRun ? ` to ${r.target}` : ""}`,
    `root ${r.root}: ${r.rootRows} row(s) sampled, seed ${r.seed}`,
    ...r.tables.map((t) => `  ${t.table.padEnd(width)}  ${String(t.rows).padStart(8)}`),
    `  ${"total".padEnd(width)}  ${String(r.totalRows).padStart(8)}`,
    `in ${r.seconds.toFixed(2)} s`,
  ];
  if (r.truncated.length > 0) lines.push(`truncated first: ${r.truncated.join(", ")}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join("\n");
}

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    const parsed = parseCommandLine("sample", USAGE.split("\n")[0].replace(/^usage: /, "") + " (--help for all options)", argv, {
      from: { type: "string" },
      to: { type: "string" },
      root: { type: "string" },
      percent: { type: "string" },
      config: { type: "string" },
      seed: { type: "string" },
      schema: { type: "string" },
      replace: { type: "boolean", default: false },
      "create-schema": { type: "boolean", default: false },
      "dry-run": { type: "boolean", default: false },
    });
    if (!parsed) {
      console.log(USAGE);
      return 0;
    }
    values = parsed.values;
  } catch (e) {
    console.error((e as Error).message);
    return 1;
  }
  const from = values.from ?? process.env.SAMPLE_FROM_URL;
  const to = values.to ?? process.env.SAMPLE_TO_URL;
  if (!from || (!to && !values["dry-run"])) {
    console.error(`sample: --from and --to are required\n${USAGE}`);
    return 1;
  }
  let percent: number | undefined;
  if (values.percent !== undefined) {
    percent = Number(values.percent);
    if (!Number.isFinite(percent) || percent <= 0 || percent > 100) {
      console.error(`sample: --percent must be a number in (0, 100], got ${values.percent}`);
      return 1;
    }
  }
  try {
    let config = emptyConfig();
    if (values.config) {
      let text: string;
      try {
        text = fs.readFileSync(fromCaller("sample", values.config), "utf8");
      } catch (e) {
        throw new SampleError(`cannot read config ${values.config}: ${(e as Error).message}`);
      }
      try {
        config = parseConfig(text, values.config);
      } catch (e) {
        throw new SampleError((e as Error).message);
      }
    }
    if (values.schema) config = { ...config, schema: values.schema };
    const result = await runSample({
      from,
      to,
      root: values.root,
      percent,
      config,
      seed: values.seed,
      replace: values.replace,
      createSchema: values["create-schema"],
      dryRun: values["dry-run"],
      log: (line) => console.error(`sample: ${line}`),
    });
    console.log(formatSummary(result));
    return 0;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // Messages are scrubbed of passwords by runSample; URLs are redacted here once more.
    console.error(`sample: ${e instanceof SampleError ? "" : "failed: "}${message.replace(/postgres(ql)?:\/\/\S+/g, (u) => redactUrl(u))}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => exitWhenFlushed(code));
}
