// Writes a selection into the target, inside the caller's transaction: parents before children,
// deferrable cycle edges deferred, non-deferrable nullable ones inserted as NULL and fixed up
// afterwards, sequences moved past the copied ids.
import type { ClientBase } from "pg";
import { applyTransforms, compileTable, RandomSource, cryptoRandom, Row } from "./anonymize";
import { Catalog, ForeignKey, qualified, quoteIdent, Table } from "./catalog";
import type { SampleConfig } from "./config";
import { insertionOrder } from "./graph";
import { columnSql, RAW_TEXT, Selection, tupleMatch } from "./select";

const KEY_CHUNK = 2000;
const MAX_PARAMS = 60000;
const MAX_ROWS_PER_INSERT = 1000;

export interface CopyOptions {
  /** Truncate the target's copies of the source tables first (otherwise they must be empty). */
  replace: boolean;
  random?: RandomSource;
  log?: (line: string) => void;
}

export interface CopyResult {
  rows: Map<string, number>;
  warnings: string[];
  truncated: string[];
}

interface TablePlan {
  name: string;
  source: Table;
  target: Table;
  columns: string[];
  /** Non-deferrable cyclic FKs inserted as NULL, then set by UPDATE. */
  fixups: ForeignKey[];
}

export async function copySelection(
  source: ClientBase,
  target: ClientBase,
  sourceCatalog: Catalog,
  targetCatalog: Catalog,
  selection: Selection,
  config: SampleConfig,
  opts: CopyOptions,
): Promise<CopyResult> {
  const log = opts.log ?? (() => undefined);
  const warnings: string[] = [];
  const errors: string[] = [];
  const schema = targetCatalog.schema;
  const names = [...selection.tables.keys()];

  // Plan every table before writing anything, so a mismatch fails with the full list.
  const plans = new Map<string, TablePlan>();
  for (const name of names) {
    const src = sourceCatalog.tables.find((t) => t.name === name)!;
    const dst = targetCatalog.tables.find((t) => t.name === name);
    if (!dst) {
      errors.push(`target has no table ${schema}.${name} (run the app's migrations, or pass --create-schema)`);
      continue;
    }
    const columns: string[] = [];
    for (const c of src.columns) {
      if (c.generated) continue;
      const t = dst.columns.find((x) => x.name === c.name);
      if (!t) warnings.push(`${name}.${c.name} is not in the target; not copied`);
      else if (!t.generated) columns.push(c.name);
    }
    for (const k of selection.tables.get(name)!.keyColumns) {
      if (k !== "ctid" && !columns.includes(k)) errors.push(`target ${name} lacks key column ${k}`);
    }
    plans.set(name, { name, source: src, target: dst, columns, fixups: [] });
  }

  // Order by the constraints the target enforces.
  const insertion = insertionOrder(names, targetCatalog.foreignKeys);
  for (const fk of insertion.cyclic) {
    if (fk.deferrable) continue;
    const p = plans.get(fk.table);
    if (!p) continue;
    const nullable = fk.columns.every((c) => !p.target.columns.find((x) => x.name === c)?.notNull && p.columns.includes(c));
    const keyed = p.target.primaryKey.length > 0 && p.target.primaryKey.every((c) => p.columns.includes(c));
    if (nullable && keyed) p.fixups.push(fk);
    else {
      errors.push(
        `${fk.table}.${fk.name} is part of a reference cycle but neither DEFERRABLE nor nullable on a table with a primary key: rows cannot be ordered`,
      );
    }
  }
  if (errors.length > 0) throw new Error(`cannot copy into the target:\n  - ${errors.join("\n  - ")}`);

  await target.query("SET CONSTRAINTS ALL DEFERRED");

  const truncated: string[] = [];
  if (opts.replace) {
    const sourceNames = new Set(sourceCatalog.tables.map((t) => t.name));
    const victims = targetCatalog.tables.filter((t) => sourceNames.has(t.name)).map((t) => t.name);
    if (victims.length > 0) {
      // CASCADE also empties target-only tables that reference these: PostgreSQL names them in notices.
      const cascaded: string[] = [];
      const onNotice = (n: { message?: string }) => {
        const m = /truncate cascades to table "(.+)"/.exec(n.message ?? "");
        if (m) cascaded.push(m[1]);
      };
      target.on("notice", onNotice);
      try {
        await target.query("SET LOCAL client_min_messages = notice");
        await target.query(`TRUNCATE ${victims.map((t) => qualified(schema, t)).join(", ")} CASCADE`);
      } finally {
        target.removeListener("notice", onNotice);
      }
      truncated.push(...victims, ...cascaded);
      if (cascaded.length > 0) warnings.push(`--replace also emptied target-only table(s) ${cascaded.join(", ")} (they reference copied tables)`);
      log(`truncated ${truncated.length} target table(s) first (--replace)`);
    }
  } else {
    const busy: string[] = [];
    for (const name of plans.keys()) {
      const r = await target.query(`SELECT EXISTS (SELECT 1 FROM ${qualified(schema, name)}) AS busy`);
      if (r.rows[0].busy) busy.push(name);
    }
    if (busy.length > 0) {
      throw new Error(`target tables are not empty: ${busy.join(", ")}; pass --replace to truncate them first`);
    }
  }

  const rows = new Map<string, number>();
  const fixupValues = new Map<ForeignKey, { keys: Row[]; values: Row[] }>();
  for (const name of insertion.order) {
    const plan = plans.get(name)!;
    const sel = selection.tables.get(name)!;
    const transforms = compileTable(config, plan.source, plan.columns, opts.random ?? cryptoRandom);
    const fixupIdx = plan.fixups.map((fk) => ({ fk, cols: fk.columns.map((c) => plan.columns.indexOf(c)), pk: plan.target.primaryKey.map((c) => plan.columns.indexOf(c)) }));
    for (const f of fixupIdx) fixupValues.set(f.fk, { keys: [], values: [] });
    const overriding = plan.target.columns.some((c) => c.identity === "a" && plan.columns.includes(c.name)) ? " OVERRIDING SYSTEM VALUE" : "";
    const insertHead = `INSERT INTO ${qualified(schema, name)} (${plan.columns.map(quoteIdent).join(", ")})${overriding} VALUES `;
    const perInsert = Math.max(1, Math.min(MAX_ROWS_PER_INSERT, Math.floor(MAX_PARAMS / plan.columns.length)));
    const orderBy = sel.keyColumns.map((c) => `t.${columnSql(c)}`).join(", ");
    let count = 0;

    for (let i = 0; i < sel.keys.length; i += KEY_CHUNK) {
      const batch = sel.keys.slice(i, i + KEY_CHUNK);
      const m = tupleMatch("t", sel.keyColumns, sel.keyTypes, batch, 1);
      const fetched = await source.query<Row>({
        text: `SELECT ${plan.columns.map((c) => `t.${quoteIdent(c)}`).join(", ")} FROM ${qualified(sourceCatalog.schema, name)} t WHERE ${m.sql} ORDER BY ${orderBy}`,
        values: m.params,
        rowMode: "array",
        types: RAW_TEXT,
      });
      const out: Row[] = [];
      for (const original of fetched.rows) {
        const row = applyTransforms(original, transforms);
        for (const f of fixupIdx) {
          const values = f.cols.map((c) => row[c]);
          if (values.every((v) => v !== null)) {
            fixupValues.get(f.fk)!.keys.push(f.pk.map((c) => row[c]));
            fixupValues.get(f.fk)!.values.push(values);
            for (const c of f.cols) row[c] = null;
          }
        }
        out.push(row);
      }
      for (let j = 0; j < out.length; j += perInsert) {
        const part = out.slice(j, j + perInsert);
        const width = plan.columns.length;
        const tuples = part.map((_, r) => `(${plan.columns.map((__, c) => `$${r * width + c + 1}`).join(", ")})`);
        await target.query(insertHead + tuples.join(", "), part.flat());
      }
      count += out.length;
    }
    rows.set(name, count);
    log(`copied ${count} row(s) into ${name}`);
  }

  // Fix-ups: the cycle edges that went in as NULL get their values now that every row exists.
  for (const [fk, { keys, values }] of fixupValues) {
    const plan = plans.get(fk.table)!;
    const pk = plan.target.primaryKey;
    const typeOf = (c: string) => plan.target.columns.find((x) => x.name === c)!.type;
    for (let i = 0; i < keys.length; i += KEY_CHUNK) {
      const k = keys.slice(i, i + KEY_CHUNK);
      const v = values.slice(i, i + KEY_CHUNK);
      const columns = [...pk, ...fk.columns];
      const arrays = [...pk.map((_, c) => k.map((r) => r[c])), ...fk.columns.map((_, c) => v.map((r) => r[c]))];
      const aliases = columns.map((_, c) => `c${c}`);
      const sets = fk.columns.map((c, j) => `${quoteIdent(c)} = v.c${pk.length + j}`).join(", ");
      const where = pk.map((c, j) => `t.${quoteIdent(c)} = v.c${j}`).join(" AND ");
      await target.query(
        `UPDATE ${qualified(schema, fk.table)} t SET ${sets} FROM unnest(${columns.map((c, j) => `$${j + 1}::${typeOf(c)}[]`).join(", ")}) AS v(${aliases.join(", ")}) WHERE ${where}`,
        arrays,
      );
    }
    if (keys.length > 0) log(`set ${keys.length} ${fk.table}.${fk.columns.join(",")} reference(s) after insert (cycle, not deferrable)`);
  }

  await advanceSequences(target, schema, [...plans.keys()]);
  return { rows, warnings, truncated };
}

/** Moves each serial/identity sequence of the copied tables past the largest copied value. */
async function advanceSequences(target: ClientBase, schema: string, tables: string[]): Promise<void> {
  const seqs = await target.query<{ tbl: string; col: string; seq: string }>(
    `SELECT c.relname::text AS tbl, a.attname::text AS col,
            pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname) AS seq
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND a.attnum > 0 AND NOT a.attisdropped`,
    [schema, tables],
  );
  for (const s of seqs.rows) {
    if (!s.seq) continue;
    await target.query(
      `SELECT setval($1::regclass, m) FROM (SELECT max(${quoteIdent(s.col)}) AS m FROM ${qualified(schema, s.tbl)}) x WHERE m IS NOT NULL`,
      [s.seq],
    );
  }
}
