// Chooses which source rows to copy: a seeded sample of the root table, the follow tables' rows
// that hang off it, and then every parent those rows reference, to a fixpoint (cycles and
// self-references included). The selection lives on the source server, in one temporary table
// per reachable table (keyed on the source key, indexed on the referenced columns), so every step
// is a set-based join the planner can hash, merge or index - no `IN (list)` inside an `OR` whose
// cost depends on whether the list fits in work_mem - and the client holds no rows at all. Up to
// WHOLE_ROWS_MAX_PERCENT the temporary tables hold the selected rows whole (every stored column),
// so each source table is read once: the copy streams them from there instead of joining the
// source table again. Above it they hold the key and reference columns only, and the copy joins
// the source table to them: when the sample is most of the table, one more scan of it costs less
// than holding a second copy of it in temporary files.
import type { ClientBase, CustomTypesConfig, QueryResult } from "pg";
import { Catalog, ForeignKey, qualified, quoteIdent, Table, tableOf } from "./catalog";
import { Follow, followForeignKeys, ResolvedPlan } from "./config";
import type { Row } from "./anonymize";

/** Every value as PostgreSQL's own text output: exact round trips for every type. */
export const RAW_TEXT: CustomTypesConfig = { getTypeParser: (() => (value: string) => value) as CustomTypesConfig["getTypeParser"] };

/**
 * The largest percent whose selection holds whole rows (see the file comment). Measured on the
 * bench's 1,000,000-row dataset (load 8-13): at 10% whole rows took the source server's CPU from
 * 1.40 to 1.06 s; at 100% the key-only selection kept a ratio of 0.69 where whole rows gave 0.55-0.61.
 */
export const WHOLE_ROWS_MAX_PERCENT = 50;

export interface TableKeys {
  /** Primary key columns, or ["ctid"] for a table without one (stable within the snapshot). */
  keyColumns: string[];
  keyTypes: string[];
  /** The temporary table (on the source connection) holding the selected rows as c0, c1, … */
  temp: string;
  /** The source columns the temporary table holds, in its c0, c1, … order: the key, the reference
   * columns, then (whole rows) every other stored, not generated, column. */
  stored: string[];
  /** Selected rows; 0 for a deferred table (the copy counts its rows). */
  rows: number;
  /**
   * A follow table no other selected table references and whose every FK its follow join already
   * matched: nothing in the selection depends on its rows, so none are held. The copy reads them
   * from this `FROM … WHERE …` (source table `t`) instead, joined to the selection's first
   * generation exactly as the follow step would have joined it.
   */
  deferred?: string;
}

export interface Selection {
  seed: string;
  root: string;
  rootRows: number;
  /** The sampled root rows' keys (text values), in sample order. */
  rootKeys: Row[];
  tables: Map<string, TableKeys>;
  warnings: string[];
}

class TableState {
  readonly keyColumns: string[];
  readonly keyTypes: string[];
  readonly tracked: string[];
  /** tracked, then (whole rows) every other column that is not generated: the temp table's c0, c1, … */
  readonly stored: string[];
  readonly types: string[];
  /** Column sets other tables reference (each unique in this table): indexed in the temp table. */
  readonly referenced: string[][];

  constructor(
    readonly table: Table,
    catalog: Catalog,
    readonly temp: string,
    whole: boolean,
  ) {
    const pk = table.primaryKey;
    this.keyColumns = pk.length > 0 ? pk : ["ctid"];
    const incoming = catalog.foreignKeys.filter((fk) => fk.refTable === table.name);
    const referencing = catalog.foreignKeys.filter((fk) => fk.table === table.name).flatMap((fk) => fk.columns);
    this.tracked = [...new Set([...this.keyColumns, ...referencing, ...incoming.flatMap((fk) => fk.refColumns)])];
    const rest = whole ? table.columns.filter((c) => !c.generated && !this.tracked.includes(c.name)).map((c) => c.name) : [];
    this.stored = [...this.tracked, ...rest];
    this.types = this.stored.map((c) => typeOf(table, c));
    this.keyTypes = this.keyColumns.map((c) => typeOf(table, c));
    const seen = new Set([this.keyColumns.join("\0")]);
    this.referenced = [];
    for (const fk of incoming) {
      const name = fk.refColumns.join("\0");
      if (!seen.has(name)) {
        seen.add(name);
        this.referenced.push(fk.refColumns);
      }
    }
  }

  /** The temp table's column for a source column. */
  col(column: string): string {
    const i = this.stored.indexOf(column);
    if (i < 0) throw new Error(`column ${this.table.name}.${column} is not stored in the selection`);
    return `c${i}`;
  }

  get tempColumns(): string {
    return this.stored.map((_, i) => `c${i}`).join(", ");
  }

  sourceColumns(alias: string): string {
    return this.stored.map((c, i) => `${alias}.${columnSql(c)} AS c${i}`).join(", ");
  }
}

function typeOf(table: Table, column: string): string {
  if (column === "ctid") return "tid";
  const c = table.columns.find((x) => x.name === column);
  if (!c) throw new Error(`column ${table.name}.${column} does not exist`);
  return c.type;
}

export function columnSql(column: string): string {
  return column === "ctid" ? "ctid" : quoteIdent(column);
}

/**
 * Creates the selection's temporary tables (dropped at commit). Call inside the source
 * transaction before it turns read-only: a read-only transaction may write temporary tables
 * but not create them.
 */
export async function prepareSelection(client: ClientBase, catalog: Catalog, plan: ResolvedPlan): Promise<Map<string, TableState>> {
  const states = new Map<string, TableState>();
  const ddl: string[] = [];
  let i = 0;
  for (const name of [...plan.reachable].sort()) {
    const s = new TableState(tableOf(catalog, name), catalog, `twinstack_sample_${i++}`, plan.percent <= WHOLE_ROWS_MAX_PERCENT);
    states.set(name, s);
    const columns = s.stored.map((_, j) => `c${j} ${s.types[j]}`).join(", ");
    const pk = s.keyColumns.map((c) => s.col(c)).join(", ");
    ddl.push(`CREATE TEMPORARY TABLE ${s.temp} (${columns}, gen int NOT NULL, PRIMARY KEY (${pk})) ON COMMIT DROP`);
    ddl.push(`CREATE INDEX ON ${s.temp} (gen)`);
    for (const cols of s.referenced) ddl.push(`CREATE INDEX ON ${s.temp} (${cols.map((c) => s.col(c)).join(", ")})`);
  }
  // One round trip: a multi-statement simple query runs in the caller's transaction.
  if (ddl.length > 0) await client.query(ddl.join(";\n"));
  return states;
}

export interface SelectOptions {
  /**
   * Leave follow tables that nothing references and whose every FK the follow join matches to the
   * copy (TableKeys.deferred): their rows are read once, by the copy, while the target writes the
   * tables before them, instead of being held first. Off for a dry run, which reports counts.
   */
  deferLeaves?: boolean;
}

export async function selectRows(
  client: ClientBase,
  catalog: Catalog,
  plan: ResolvedPlan,
  seed: string,
  states: Map<string, TableState>,
  log: (line: string) => void = () => undefined,
  opts: SelectOptions = {},
): Promise<Selection> {
  const warnings: string[] = [];
  const state = (name: string) => states.get(name)!;
  const from = (name: string) => qualified(catalog.schema, name);
  const run = async (sql: string, params: unknown[] = []) => (await client.query(sql, params)).rowCount ?? 0;
  /** Rows in each temporary table (every insert's count; ON CONFLICT skips are not counted). */
  const rows = new Map<string, number>();
  const addRows = (name: string, n: number) => rows.set(name, (rows.get(name) ?? 0) + n);
  /** Rows each temporary table had at its last ANALYZE. */
  const analyzedAt = new Map<string, number>();
  // Fresh statistics after each bulk insert, so joins against the selection are planned on real
  // sizes: of the key and reference columns only (the ones joined on; the row count comes with
  // any ANALYZE), not of the wide rest of the row.
  const analyzeSql = (s: TableState) => {
    analyzedAt.set(s.table.name, rows.get(s.table.name) ?? 0);
    return `ANALYZE ${s.temp} (${s.tracked.map((c) => s.col(c)).join(", ")})`;
  };
  const analyze = async (s: TableState) => {
    await client.query(analyzeSql(s));
  };
  /** Statements without parameters in one round trip (one simple query, run in order in this transaction): each one's result. */
  const batch = async (statements: string[]) => {
    const r = (await client.query(statements.join(";\n"))) as unknown as QueryResult | QueryResult[];
    return Array.isArray(r) ? r : [r];
  };
  /** Rows added in the current generation, per table: the work of the next closure round. */
  let pending = new Map<string, number>();

  // 1. The root sample: a seeded, repeatable order over the key, first N rows. The order is
  // PostgreSQL's 64-bit hash of the key's text salted with the seed's hash (`hashtextextended`,
  // the "64-bit hash value for a key given a 64-bit salt" every hash operator class has had since
  // PostgreSQL 11, https://www.postgresql.org/docs/current/xindex.html, table "Hash Support
  // Functions"; the text one is in src/backend/utils/adt/varlena.c), then the key itself for the
  // (unlikely) equal hashes: about a quarter of the CPU of the md5 of every key it replaces.
  const root = state(plan.root);
  const total = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${from(plan.root)}`)).rows[0].n);
  const wanted = total === 0 ? 0 : Math.min(total, Math.max(1, Math.ceil((total * plan.percent) / 100 - 1e-9)));
  const sampleOrder = (alias: string, cols: string[]) => {
    const keys = cols.map((c) => `${alias}.${c}`);
    const text = keys.length === 1 ? `${keys[0]}::text` : `ROW(${keys.join(", ")})::text`;
    return `hashtextextended(${text}, hashtextextended($1::text, 0)), ${keys.join(", ")}`;
  };
  const rootKeySql = root.keyColumns.map(columnSql);
  const rootRows = await run(
    `INSERT INTO ${root.temp} (${root.tempColumns}, gen) SELECT ${root.sourceColumns("t")}, 0 FROM ${from(plan.root)} t ORDER BY ${sampleOrder("t", rootKeySql)} LIMIT $2`,
    [seed, wanted],
  );
  pending.set(plan.root, rootRows);
  addRows(plan.root, rootRows);
  await analyze(root);
  const rootTempKeys = root.keyColumns.map((c) => root.col(c));
  const rootKeys = (
    await client.query<Row>({
      text: `SELECT ${rootTempKeys.map((c) => `s.${c}`).join(", ")} FROM ${root.temp} s ORDER BY ${sampleOrder("s", rootTempKeys)}`,
      values: [seed],
      rowMode: "array",
      types: RAW_TEXT,
    })
  ).rows;

  // 2. Lookup tables copied whole.
  for (const name of plan.copyAll) {
    const s = state(name);
    pending.set(name, await run(`INSERT INTO ${s.temp} (${s.tempColumns}, gen) SELECT ${s.sourceColumns("t")}, 0 FROM ${from(name)} t`));
    addRows(name, pending.get(name)!);
    await analyze(s);
  }

  // 3. Follow tables, parents first, matched against what is selected so far: one LEFT JOIN per
  // deciding FK (on the parent's referenced columns, unique there), so no row is duplicated.
  const selected = new Set([plan.root, ...plan.copyAll]);
  /** FKs whose every set reference in the first generation already points at a selected row (see followSql). */
  const satisfied = new Set<ForeignKey>();
  const deferred = new Map<string, string>();
  for (const f of plan.follow) {
    const s = state(f.table);
    const fks = followForeignKeys(f, catalog.foreignKeys, selected);
    const { joins, where, guaranteed } = followSql(f, s.table, fks, (fk) => state(fk.refTable));
    for (const fk of guaranteed) satisfied.add(fk);
    selected.add(f.table);
    const referenced = catalog.foreignKeys.some((fk) => fk.refTable === f.table && states.has(fk.table));
    if (opts.deferLeaves && !referenced && catalog.foreignKeys.every((fk) => fk.table !== f.table || guaranteed.includes(fk))) {
      // Every selected parent row is of the first generation here; the closure adds later ones only.
      const gen0 = followSql(f, s.table, fks, (fk) => state(fk.refTable), true);
      deferred.set(f.table, `FROM ${from(f.table)} t ${gen0.joins} WHERE ${gen0.where}`);
      log(`follow ${f.table}: read by the copy (nothing references it)`);
      continue;
    }
    // The insert and its ANALYZE in one round trip (the ANALYZE sees the inserted rows).
    const [inserted] = await batch([
      `INSERT INTO ${s.temp} (${s.tempColumns}, gen) SELECT ${s.sourceColumns("t")}, 0 FROM ${from(f.table)} t ${joins} WHERE ${where}`,
      analyzeSql(s),
    ]);
    pending.set(f.table, inserted.rowCount ?? 0);
    addRows(f.table, pending.get(f.table)!);
    analyzedAt.set(f.table, rows.get(f.table)!);
    log(`follow ${f.table}: ${pending.get(f.table)} row(s)`);
  }

  // 4. Parent closure to a fixpoint: the distinct references of the last generation's rows, joined
  // to the parent table; parents not yet selected form the next generation. A follow table's first
  // generation skips the FKs its own join already matched: those parents are selected by
  // construction, and looking them up again would join every followed row to its parent table.
  const outgoing = new Map<string, ForeignKey[]>();
  for (const fk of catalog.foreignKeys) {
    if (states.has(fk.table)) outgoing.set(fk.table, [...(outgoing.get(fk.table) ?? []), fk]);
  }
  // Each generation's lookups go to the server in one round trip, in the order they would run one
  // by one (each sees the rows the ones before it added), after the ANALYZEs the last one called for.
  let analyses: string[] = [];
  for (let gen = 0; ; gen++) {
    const next = new Map<string, number>();
    const lookups: { fk: ForeignKey; sql: string }[] = [];
    for (const [name, added] of pending) {
      if (added === 0) continue;
      const s = state(name);
      for (const fk of outgoing.get(name) ?? []) {
        if (gen === 0 && satisfied.has(fk)) continue;
        const parent = state(fk.refTable);
        const refs = fk.columns.map((c, i) => `k.r${i}`);
        const notNull = fk.columns.map((c) => `c.${s.col(c)} IS NOT NULL`).join(" AND ");
        const on = fk.refColumns.map((c, i) => `p.${columnSql(c)} = ${refs[i]}`).join(" AND ");
        lookups.push({
          fk,
          sql: `WITH k AS MATERIALIZED (SELECT DISTINCT ${fk.columns.map((c, i) => `c.${s.col(c)} AS r${i}`).join(", ")} FROM ${s.temp} c WHERE c.gen = ${gen} AND ${notNull}),
                j AS MATERIALIZED (SELECT ${parent.sourceColumns("p")} FROM ${from(fk.refTable)} p JOIN k ON ${on}),
                ins AS (INSERT INTO ${parent.temp} (${parent.tempColumns}, gen) SELECT *, ${gen + 1} FROM j ON CONFLICT DO NOTHING RETURNING 1)
           SELECT (SELECT count(*) FROM k) AS wanted, (SELECT count(*) FROM j) AS found, (SELECT count(*) FROM ins) AS added`,
        });
      }
    }
    const results = lookups.length > 0 || analyses.length > 0 ? (await batch([...analyses, ...lookups.map((l) => l.sql)])).slice(analyses.length) : [];
    lookups.forEach(({ fk }, i) => {
      const { wanted: w, found, added: a } = results[i].rows[0] as { wanted: string; found: string; added: string };
      if (Number(found) < Number(w)) {
        warnings.push(`${fk.table}.${fk.name}: ${Number(w) - Number(found)} referenced ${fk.refTable} row(s) missing in the source (NOT VALID constraint?)`);
      }
      if (Number(a) > 0) {
        next.set(fk.refTable, (next.get(fk.refTable) ?? 0) + Number(a));
        addRows(fk.refTable, Number(a));
      }
    });
    log(`parent closure, generation ${gen + 1}: ${[...next].map(([t, n]) => `${n} ${t}`).join(", ") || "nothing new"}`);
    if (next.size === 0) break;
    // Statistics again only where a generation grew a table by more than a tenth since its last
    // ANALYZE (the planner scales the row count it saw by the table's current size anyway).
    analyses = [];
    for (const name of next.keys()) {
      const at = analyzedAt.get(name);
      if (at === undefined || rows.get(name)! > at * 1.1) analyses.push(analyzeSql(state(name)));
    }
    pending = next;
  }

  const tables = new Map<string, TableKeys>();
  for (const [name, s] of states) {
    const n = rows.get(name) ?? 0;
    const later = deferred.get(name);
    if (n === 0 && later === undefined) continue;
    tables.set(name, { keyColumns: s.keyColumns, keyTypes: s.keyTypes, temp: s.temp, stored: s.stored, rows: n, ...(later !== undefined ? { deferred: later } : {}) });
  }
  return { seed, root: plan.root, rootRows, rootKeys, tables, warnings };
}

/**
 * The joins and condition that pick a follow table's rows: `all` = every deciding FK that is set
 * points at a selected row and at least one is set; `any` = at least one points at a selected row.
 * An FK whose columns are all NOT NULL (or the only FK of an `any`) must match: an inner join,
 * which lets the planner start from the (small) selection and probe the child's FK index; others
 * are LEFT JOINs (each on the parent's unique referenced columns, so no row is duplicated).
 * `guaranteed`: the FKs that, wherever set in a picked row, point at a selected row (every deciding
 * FK under `all`; under `any` only a sole FK). `firstGeneration`: join only the parents' rows of
 * generation 0 (the rows selected before the parent closure), for a follow read after the closure.
 */
function followSql(
  f: Follow,
  child: Table,
  fks: ForeignKey[],
  parentOf: (fk: ForeignKey) => TableState,
  firstGeneration = false,
): { joins: string; where: string; guaranteed: ForeignKey[] } {
  const joins: string[] = [];
  const conditions: string[] = [];
  const active: string[] = [];
  const matched: string[] = [];
  const required = (fk: ForeignKey) => (f.match === "any" ? fks.length === 1 : fk.columns.every((c) => child.columns.find((x) => x.name === c)?.notNull));
  fks.forEach((fk, i) => {
    const parent = parentOf(fk);
    const on = fk.columns.map((c, j) => `p${i}.${parent.col(fk.refColumns[j])} = t.${columnSql(c)}`).join(" AND ") + (firstGeneration ? ` AND p${i}.gen = 0` : "");
    if (required(fk)) {
      joins.push(`JOIN ${parent.temp} p${i} ON ${on}`);
      active.push("true");
      matched.push("true");
      return;
    }
    joins.push(`LEFT JOIN ${parent.temp} p${i} ON ${on}`);
    active.push(fk.columns.map((c) => `t.${columnSql(c)} IS NOT NULL`).join(" AND "));
    matched.push(`p${i}.gen IS NOT NULL`);
    if (f.match === "all") conditions.push(`(NOT (${active[i]}) OR ${matched[i]})`);
  });
  if (f.match === "any") {
    if (matched.includes("true")) return { joins: joins.join(" "), where: "true", guaranteed: fks.length === 1 ? fks : [] };
    return { joins: joins.join(" "), where: matched.map((m) => `(${m})`).join(" OR "), guaranteed: [] };
  }
  if (!active.includes("true")) conditions.push(`(${active.map((a) => `(${a})`).join(" OR ")})`);
  return { joins: joins.join(" "), where: conditions.length > 0 ? conditions.join(" AND ") : "true", guaranteed: fks };
}
