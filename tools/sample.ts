// npm run sample -- --from <url> --to <url> --root users --percent 10 [--config sample.yaml] [--seed N]
//   [--replace] [--create-schema] [--dry-run] [--schema public]
// Refreshes a dev database with a sampled, anonymized, referentially complete copy of prod.
// URLs may also come from SAMPLE_FROM_URL / SAMPLE_TO_URL, to keep passwords off the command line.
// npm run sample -- --files <prod vault dir> --to <dev vault dir> --db <dev url> --config sample.yaml
// Then copies the files the config's `files` rules name for the rows in the sampled database.
import type { SampleResult } from "./sampler/run";
import { redactUrl } from "./sampler/safety";
import { fromCaller, parseCommandLine, readNamedFile } from "./cli";
import { exitWhenFlushed } from "./exit";
import type { Client } from "pg";
import { hasProdToken, parsePgUrl } from "./sampler/safety";

// The sampler's modules (zod, YAML, pg: about 0.4 s of CPU to load) are required once the command
// line is read, not imported: --help and usage errors answer without them.
/* eslint-disable @typescript-eslint/no-require-imports */
const configModule = () => require("./sampler/config") as typeof import("./sampler/config");
const runModule = () => require("./sampler/run") as typeof import("./sampler/run");
const filesModule = () => require("./sampler/files") as typeof import("./sampler/files");
/* eslint-enable @typescript-eslint/no-require-imports */

const USAGE = `usage: npm run sample -- --from <postgres-url> --to <postgres-url> --root <table> --percent <n>
         [--config <sample.yaml>] [--seed <s>] [--schema <name>] [--replace] [--create-schema] [--dry-run]
       npm run sample -- --files <prod vault dir> --to <dev vault dir> --db <dev postgres-url> --config <sample.yaml>
  --from / --to     source and target URLs (or SAMPLE_FROM_URL / SAMPLE_TO_URL)
  --root, --percent override root/percent from the config
  --config          YAML rules (see tools/sampler/sample.example.yaml); without it nothing but the
                    root sample and its parents is copied, and sensitive-looking columns are refused
  --seed            same seed + same data = same sample (default: random, printed)
  --replace         truncate the target's tables first (default: they must be empty)
  --create-schema   copy the source schema into the target with pg_dump --schema-only first
  --dry-run         select and report only; write nothing
  --files           files mode: copy from this directory (the prod vault) to --to (a directory) the
                    files the config's \`files\` rules name for the rows of --db (the sampled dev
                    database, or SAMPLE_TO_URL), keeping the layout; missing files are counted and
                    skipped; a --to in or around the source directory is refused
  --db              files mode: the sampled database whose rows decide which files are copied
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
      files: { type: "string" },
      db: { type: "string" },
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
  if (values.files !== undefined) return filesMode(values.files, values.to, values.db, values.config, values.schema);
  const { parseConfig } = configModule();
  const { emptyConfig, runSample, SampleError } = runModule();
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
        text = readNamedFile(fromCaller("sample", values.config), "sample config", values.config);
      } catch (e) {
        throw new SampleError((e as Error).message);
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

/** `--files <from dir> --to <dir>`: the files of the sampled database's rows. Exit 1 when any path was refused. */
async function filesMode(fromDir: string, toDir: string | undefined, db: string | undefined, configFile: string | undefined, schema: string | undefined): Promise<number> {
  const url = db ?? process.env.SAMPLE_TO_URL;
  if (!toDir || !url || !configFile) {
    console.error(`sample: --files needs --to <directory>, --db <sampled database url> (or SAMPLE_TO_URL) and --config\n${USAGE}`);
    return 1;
  }
  const { parseConfig } = configModule();
  const { checkDestination, checkFileRules, copyFollowingFiles, formatFilesSummary, FilesError } = filesModule();
  let client: Client | undefined;
  try {
    let config;
    try {
      config = parseConfig(readNamedFile(fromCaller("sample", configFile), "sample config", configFile), configFile);
    } catch (e) {
      throw new FilesError((e as Error).message);
    }
    if (config.files.length === 0) throw new FilesError(`${configFile}: files: no rules; nothing to copy`);
    const parts = parsePgUrl(url);
    // The rows decide which files are copied: prod's rows would mean the whole vault.
    if (hasProdToken(parts.database)) {
      throw new FilesError(`refusing to read rows from database "${parts.database}": --db is the sampled dev database, and its name carries the prod env token`);
    }
    const from = fromCaller("sample", fromDir);
    const to = fromCaller("sample", toDir);
    // Where it would write is refused before anything is read (copyFollowingFiles checks again).
    checkDestination(from, to);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Client } = require("pg") as typeof import("pg");
    client = new Client({ connectionString: url, application_name: "twinstack-sample-files" });
    try {
      await client.connect();
    } catch (e) {
      throw new FilesError(`cannot connect to ${redactUrl(url)}: ${(e as Error).message}`);
    }
    const schemaName = schema ?? config.schema;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { readCatalog } = require("./sampler/catalog") as typeof import("./sampler/catalog");
    const problems = checkFileRules(config.files, await readCatalog(client, schemaName));
    if (problems.length > 0) throw new FilesError(`${configFile}:\n  - ${problems.join("\n  - ")}`);
    const result = await copyFollowingFiles(client, schemaName, config.files, from, to, (line) => console.error(`sample: ${line}`));
    console.log(formatFilesSummary(result, from, to));
    return result.refused > 0 ? 1 : 0;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    console.error(`sample: ${e instanceof FilesError ? "" : "failed: "}${message.replace(/postgres(ql)?:\/\/\S+/g, (u) => redactUrl(u))}`);
    return 1;
  } finally {
    await client?.end().catch(() => undefined);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => exitWhenFlushed(code));
}
