// Chooses which source rows to copy: a seeded sample of the root table, the follow tables'
// rows that hang off it, and then every parent those rows reference, to a fixpoint (cycles and
// self-references included). Only keys and reference columns are held in memory; the copier
// fetches full rows later in the same snapshot.
import type { ClientBase, CustomTypesConfig } from "pg";
import { Catalog, ForeignKey, qualified, quoteIdent, Table, tableOf } from "./catalog";
import { Follow, followForeignKeys, ResolvedPlan } from "./config";
import type { Row } from "./anonymize";

/** Every value as PostgreSQL's own text output: exact round trips for every type. */
export const RAW_TEXT: CustomTypesConfig = { getTypeParser: (() => (value: string) => value) as CustomTypesConfig["getTypeParser"] };

const CHUNK = 5000;

export interface TableKeys {
  /** Primary key columns, or ["ctid"] for a table without one (stable within the snapshot). */
  keyColumns: string[];
  keyTypes: string[];
  keys: Row[];
}

export interface Selection {
  seed: string;
  root: string;
  rootRows: number;
  rootKeys: Row[];
  tables: Map<string, TableKeys>;
  warnings: string[];
}

class TableState {
  readonly keyColumns: string[];
  readonly keyTypes: string[];
  readonly tracked: string[];
  readonly types: string[];
  readonly rows = new Map<string, Row>();
  pending: Row[] = [];
  private readonly indexes = new Map<string, Set<string>>();

  constructor(readonly table: Table, catalog: Catalog) {
    const pk = table.primaryKey;
    this.keyColumns = pk.length > 0 ? pk : ["ctid"];
    const referenced = catalog.foreignKeys.filter((fk) => fk.refTable === table.name).flatMap((fk) => fk.refColumns);
    const referencing = catalog.foreignKeys.filter((fk) => fk.table === table.name).flatMap((fk) => fk.columns);
    this.tracked = [...new Set([...this.keyColumns, ...referencing, ...referenced])];
    this.types = this.tracked.map((c) => typeOf(table, c));
    this.keyTypes = this.keyColumns.map((c) => typeOf(table, c));
  }

  columnIndex(column: string): number {
    return this.tracked.indexOf(column);
  }

  values(row: Row, columns: string[]): Row {
    return columns.map((c) => row[this.columnIndex(c)]);
  }

  /** Adds a row unless already selected; returns whether it was new. */
  add(row: Row): boolean {
    const key = JSON.stringify(this.values(row, this.keyColumns));
    if (this.rows.has(key)) return false;
    this.rows.set(key, row);
    for (const [cols, index] of this.indexes) index.add(JSON.stringify(this.values(row, cols.split("\0"))));
    this.pending.push(row);
    return true;
  }

  /** The set of selected value tuples of the given columns (kept up to date as rows arrive). */
  index(columns: string[]): Set<string> {
    const name = columns.join("\0");
    let index = this.indexes.get(name);
    if (!index) {
      index = new Set([...this.rows.values()].map((r) => JSON.stringify(this.values(r, columns))));
      this.indexes.set(name, index);
    }
    return index;
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
 * SQL that is true when the row's `columns` equal one of the tuples passed as one array
 * parameter per column (starting at $firstParam). Returns the clause and the parameters.
 */
export function tupleMatch(alias: string, columns: string[], types: string[], tuples: Row[], firstParam: number): { sql: string; params: unknown[] } {
  const params = columns.map((_, i) => tuples.map((t) => t[i]));
  const refs = columns.map((_, i) => `$${firstParam + i}::${types[i]}[]`);
  if (columns.length === 1) return { sql: `${alias}.${columnSql(columns[0])} = ANY(${refs[0]})`, params };
  const cols = columns.map((c) => `${alias}.${columnSql(c)}`).join(", ");
  return { sql: `(${cols}) IN (SELECT * FROM unnest(${refs.join(", ")}))`, params };
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function selectRows(client: ClientBase, catalog: Catalog, plan: ResolvedPlan, seed: string): Promise<Selection> {
  const warnings: string[] = [];
  const states = new Map<string, TableState>();
  for (const name of plan.reachable) states.set(name, new TableState(tableOf(catalog, name), catalog));
  const state = (name: string) => states.get(name)!;
  const from = (name: string) => qualified(catalog.schema, name);
  const trackedSql = (s: TableState) => s.tracked.map((c) => `t.${columnSql(c)}`).join(", ");

  const fetch = async (s: TableState, where: string, params: unknown[], tail = ""): Promise<Row[]> => {
    const result = await client.query<Row>({
      text: `SELECT ${trackedSql(s)} FROM ${from(s.table.name)} t WHERE ${where} ${tail}`,
      values: params,
      rowMode: "array",
      types: RAW_TEXT,
    });
    return result.rows;
  };

  // 1. The root sample: a seeded, repeatable order over the key, first N rows.
  const root = state(plan.root);
  const total = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${from(plan.root)}`)).rows[0].n);
  const wanted = total === 0 ? 0 : Math.min(total, Math.max(1, Math.ceil((total * plan.percent) / 100 - 1e-9)));
  const keyExpr = root.keyColumns.length === 1 ? `t.${columnSql(root.keyColumns[0])}::text` : `ROW(${root.keyColumns.map((c) => `t.${columnSql(c)}`).join(", ")})::text`;
  const rootRows = await fetch(root, "true", [seed, wanted], `ORDER BY md5(${keyExpr} || $1::text) LIMIT $2`);
  for (const r of rootRows) root.add(r);
  const rootKeys = rootRows.map((r) => root.values(r, root.keyColumns));

  // 2. Lookup tables copied whole.
  for (const name of plan.copyAll) for (const r of await fetch(state(name), "true", [])) state(name).add(r);

  // 3. Follow tables, parents first, matched against what is selected so far.
  const selected = new Set([plan.root, ...plan.copyAll]);
  for (const f of plan.follow) {
    const s = state(f.table);
    const fks = followForeignKeys(f, catalog.foreignKeys, selected);
    const { where, params } = followWhere(f, fks, (fk) => state(fk.refTable), s);
    for (const r of await fetch(s, where, params)) s.add(r);
    selected.add(f.table);
  }

  // 4. Parent closure to a fixpoint: every selected row's referenced rows are selected too.
  const outgoing = new Map<string, ForeignKey[]>();
  for (const fk of catalog.foreignKeys) {
    if (states.has(fk.table)) outgoing.set(fk.table, [...(outgoing.get(fk.table) ?? []), fk]);
  }
  for (;;) {
    const busy = [...states.values()].filter((s) => s.pending.length > 0);
    if (busy.length === 0) break;
    for (const s of busy) {
      const rows = s.pending;
      s.pending = [];
      for (const fk of outgoing.get(s.table.name) ?? []) {
        const parent = state(fk.refTable);
        const have = parent.index(fk.refColumns);
        const missing = new Map<string, Row>();
        for (const r of rows) {
          const tuple = s.values(r, fk.columns);
          if (tuple.some((v) => v === null)) continue;
          const key = JSON.stringify(tuple);
          if (!have.has(key)) missing.set(key, tuple);
        }
        if (missing.size === 0) continue;
        let found = 0;
        const refTypes = fk.refColumns.map((c) => typeOf(parent.table, c));
        for (const batch of chunks([...missing.values()], CHUNK)) {
          const m = tupleMatch("t", fk.refColumns, refTypes, batch, 1);
          const fetched = await fetch(parent, m.sql, m.params);
          found += fetched.length;
          for (const r of fetched) parent.add(r);
        }
        if (found < missing.size) {
          warnings.push(`${fk.table}.${fk.name}: ${missing.size - found} referenced ${fk.refTable} row(s) missing in the source (NOT VALID constraint?)`);
        }
      }
    }
  }

  const tables = new Map<string, TableKeys>();
  for (const [name, s] of states) {
    if (s.rows.size === 0) continue;
    tables.set(name, { keyColumns: s.keyColumns, keyTypes: s.keyTypes, keys: [...s.rows.values()].map((r) => s.values(r, s.keyColumns)) });
  }
  return { seed, root: plan.root, rootRows: rootRows.length, rootKeys, tables, warnings };
}

function followWhere(f: Follow, fks: ForeignKey[], parentOf: (fk: ForeignKey) => TableState, child: TableState): { where: string; params: unknown[] } {
  const params: unknown[] = [];
  const active: string[] = [];
  const matches: string[] = [];
  for (const fk of fks) {
    const parent = parentOf(fk);
    const tuples = [...parent.rows.values()].map((r) => parent.values(r, fk.refColumns)).filter((t) => t.every((v) => v !== null));
    const types = fk.columns.map((c) => child.types[child.columnIndex(c)]);
    const m = tupleMatch("t", fk.columns, types, tuples, params.length + 1);
    params.push(...m.params);
    active.push(fk.columns.map((c) => `t.${columnSql(c)} IS NOT NULL`).join(" AND "));
    matches.push(m.sql);
  }
  if (f.match === "any") return { where: matches.map((m) => `(${m})`).join(" OR "), params };
  const each = fks.map((_, i) => `(NOT (${active[i]}) OR ${matches[i]})`);
  const some = active.map((a) => `(${a})`).join(" OR ");
  return { where: `${each.join(" AND ")} AND (${some})`, params };
}
