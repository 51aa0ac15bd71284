// One sampling run: safety checks, a read-only snapshot of the source, the selection, and the
// copy into the target in a single transaction.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { Client } from "pg";
import { readCatalog } from "./catalog";
import { parseConfig, resolvePlan, SampleConfig } from "./config";
import { copySelection } from "./copy";
import { hasProdToken, parsePgUrl, redactUrl, sameDatabaseByUrl, scrub, UrlParts } from "./safety";
import { prepareSelection, selectRows } from "./select";
import type { RandomSource, Row } from "./anonymize";

/** A refusal or usage problem: the CLI prints the message and exits 1. */
export class SampleError extends Error {}

export interface SampleOptions {
  from: string;
  /** Required unless dryRun. */
  to?: string;
  root?: string;
  percent?: number;
  config?: SampleConfig;
  /** Any string; the same seed picks the same root rows from the same data. Random if absent. */
  seed?: string;
  /** Copy the source schema into the target with pg_dump --schema-only first (same transaction). */
  createSchema?: boolean;
  /** Truncate the target's tables first instead of requiring them empty. */
  replace?: boolean;
  /** Select and report only; write nothing. */
  dryRun?: boolean;
  log?: (line: string) => void;
  /** pg_dump binary for createSchema (default: pg_dump on PATH). */
  pgDump?: string;
  random?: RandomSource;
}

export interface SampleResult {
  seed: string;
  root: string;
  rootRows: number;
  rootKeys: Row[];
  /** Rows per table, in insertion order (selected rows when dryRun). */
  tables: { table: string; rows: number }[];
  totalRows: number;
  warnings: string[];
  truncated: string[];
  seconds: number;
  dryRun: boolean;
  source: string;
  target?: string;
}

export function emptyConfig(): SampleConfig {
  return parseConfig("{}");
}

/** Checks that need no connection: prod token in the target name, from == to. */
export function checkTargetUrl(from: UrlParts, to: UrlParts): void {
  if (hasProdToken(to.database)) {
    throw new SampleError(`refusing to write into database "${to.database}": its name carries the prod env token`);
  }
  if (sameDatabaseByUrl(from, to)) {
    throw new SampleError(`refusing to sample database "${to.database}" into itself (--from and --to are the same database)`);
  }
}

/** Why a connection ended while no query of ours was running, by client (see connect). */
const connectionLost = new WeakMap<Client, Error>();

async function connect(url: string, role: string): Promise<Client> {
  const client = new Client({ connectionString: url, application_name: `twinstack-sample-${role}` });
  // A server that ends the session while no query is running (an administrator's
  // pg_terminate_backend, idle_in_transaction_session_timeout while the other side is still busy)
  // makes the client emit 'error': without a listener that would crash the process. Kept, and
  // named in the error the next query then fails with.
  client.on("error", (e) => {
    if (!connectionLost.has(client)) connectionLost.set(client, e);
  });
  try {
    await client.connect();
  } catch (e) {
    throw new SampleError(`cannot connect to the ${role} database ${redactUrl(url)}: ${(e as Error).message}`);
  }
  // Fixed text formats in and out, so values round-trip exactly.
  await client.query("SET datestyle = 'ISO, MDY'; SET intervalstyle = 'postgres'; SET extra_float_digits = 3; SET bytea_output = 'hex'");
  return client;
}

async function identity(client: Client): Promise<{ database: string; system: string | null; addr: string | null; port: number | null }> {
  const r = await client.query<{ db: string; addr: string | null; port: number | null }>(
    "SELECT current_database() AS db, host(inet_server_addr()) AS addr, inet_server_port() AS port",
  );
  let system: string | null = null;
  try {
    system = String((await client.query("SELECT system_identifier FROM pg_control_system()")).rows[0].system_identifier);
  } catch {
    // Not granted to this role: fall back to address and port.
  }
  return { database: r.rows[0].db, system, addr: r.rows[0].addr, port: r.rows[0].port };
}

export async function runSample(opts: SampleOptions): Promise<SampleResult> {
  const started = process.hrtime.bigint();
  const log = opts.log ?? (() => undefined);
  const from = parsePgUrl(opts.from);
  const to = opts.to !== undefined ? parsePgUrl(opts.to) : undefined;
  if (!to && !opts.dryRun) throw new SampleError("no target: pass --to (or --dry-run)");
  if (to) checkTargetUrl(from, to);
  const secrets = [from.password, to?.password ?? ""];
  const config = opts.config ?? emptyConfig();
  const seed = opts.seed ?? randomBytes(4).toString("hex");

  const source = await connect(opts.from, "source");
  let target: Client | undefined;
  try {
    if (opts.to && !opts.dryRun) {
      target = await connect(opts.to, "target");
      const [s, t] = await Promise.all([identity(source), identity(target)]);
      if (hasProdToken(t.database)) {
        throw new SampleError(`refusing to write into database "${t.database}": its name carries the prod env token`);
      }
      const sameServer = s.system && t.system ? s.system === t.system : s.addr === t.addr && s.port === t.port;
      if (sameServer && s.database === t.database) {
        throw new SampleError(`refusing to sample database "${t.database}" into itself (--from and --to reach the same database)`);
      }
    }

    // The target's transaction, schema (pg_dump) and catalog are prepared on its own connection
    // while the source reads its catalog and selects (two server processes at once); a failure
    // there is reported once the selection is done (a failed selection ends the target's
    // connection, and with it that transaction).
    const targetReady =
      target && !opts.dryRun
        ? (async (t: Client) => {
            await t.query("BEGIN");
            if (opts.createSchema) {
              log(`creating schema ${config.schema} in the target from pg_dump --schema-only`);
              await t.query(await schemaSql(opts.from, from, config.schema, opts.pgDump ?? "pg_dump", secrets));
            }
            return readCatalog(t, config.schema);
          })(target)
        : undefined;
    targetReady?.catch(() => undefined);

    // One snapshot for catalog, selection and copy: the sample is consistent. The transaction
    // creates its temporary selection tables and then turns read-only, so the source's own tables
    // cannot be written (a read-only transaction may fill temporary tables, not create them).
    await source.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
    const sourceCatalog = await readCatalog(source, config.schema);
    if (sourceCatalog.tables.length === 0) throw new SampleError(`source schema ${config.schema} has no tables`);
    let plan;
    try {
      plan = resolvePlan(config, sourceCatalog, { root: opts.root, percent: opts.percent });
    } catch (e) {
      throw new SampleError((e as Error).message);
    }
    const warnings = sourceCatalog.externalForeignKeys.map((fk) => `foreign key leaves schema ${config.schema}, not followed: ${fk}`);
    const states = await prepareSelection(source, sourceCatalog, plan);
    await source.query("SET TRANSACTION READ ONLY");
    const selection = await selectRows(source, sourceCatalog, plan, seed, states, log, { deferLeaves: !!target && !opts.dryRun });
    warnings.push(...selection.warnings);
    log(`selected ${selection.rootRows} ${plan.root} row(s) (${plan.percent}%, seed ${seed}) and their related rows`);

    let tables: { table: string; rows: number }[];
    let truncated: string[] = [];
    if (opts.dryRun || !target) {
      tables = [...selection.tables].map(([table, k]) => ({ table, rows: k.rows }));
    } else {
      try {
        const targetCatalog = await targetReady!;
        const copied = await copySelection(source, target, sourceCatalog, targetCatalog, selection, config, {
          replace: !!opts.replace,
          random: opts.random,
          log,
        });
        // Deferred constraints are checked here: a dangling reference aborts the whole copy.
        await target.query("COMMIT");
        warnings.push(...copied.warnings);
        truncated = copied.truncated;
        // A deferred table whose selection was empty is left out, as a held one with no rows is.
        tables = [...copied.rows].filter(([, rows]) => rows > 0).map(([table, rows]) => ({ table, rows }));
      } catch (e) {
        await target.query("ROLLBACK").catch(() => undefined);
        throw e;
      }
    }
    await source.query("COMMIT");

    return {
      seed,
      root: plan.root,
      rootRows: selection.rootRows,
      rootKeys: selection.rootKeys,
      tables,
      totalRows: tables.reduce((n, t) => n + t.rows, 0),
      warnings,
      truncated,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      dryRun: !!opts.dryRun,
      source: redactUrl(opts.from),
      target: opts.to ? redactUrl(opts.to) : undefined,
    };
  } catch (e) {
    if (e instanceof Error) {
      for (const [client, role] of [
        [source, "source"],
        [target, "target"],
      ] as const) {
        const lost = client && connectionLost.get(client);
        if (lost && !e.message.includes(lost.message)) e.message += ` (the ${role} connection was lost: ${lost.message})`;
      }
      e.message = scrub(e.message, secrets);
    }
    throw e;
  } finally {
    await source.end().catch(() => undefined);
    await target?.end().catch(() => undefined);
  }
}

const run = promisify(execFile);

/** The source schema as SQL, minus what a plain client cannot run or the target already has. */
async function schemaSql(url: string, parts: UrlParts, schema: string, pgDump: string, secrets: string[]): Promise<string> {
  // Connection through the environment, so the password is not on a command line.
  const u = new URL(url);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PGHOST: parts.host,
    PGPORT: String(parts.port),
    PGUSER: parts.user,
    PGPASSWORD: parts.password,
    PGDATABASE: parts.database,
  };
  const sslmode = u.searchParams.get("sslmode");
  if (sslmode) env.PGSSLMODE = sslmode;
  let out: string;
  try {
    out = (await run(pgDump, ["--schema-only", "--no-owner", "--no-privileges", `--schema=${schema}`], { env, maxBuffer: 256 * 1024 * 1024 })).stdout;
  } catch (e) {
    throw new SampleError(`pg_dump --schema-only failed: ${scrub((e as Error).message, secrets)}`);
  }
  const schemaRe = new RegExp(`^CREATE SCHEMA ("?)${schema.replace(/[$]/g, "\\$")}\\1;$`);
  return out
    .split("\n")
    .filter((line) => !line.startsWith("\\")) // psql meta-commands (\restrict) are not SQL
    .filter((line) => !/^COMMENT ON SCHEMA /.test(line)) // needs schema ownership; cosmetic
    .map((line) => (schemaRe.test(line) ? line.replace("CREATE SCHEMA", "CREATE SCHEMA IF NOT EXISTS") : line))
    .join("\n");
}
