// Writes a selection into the target, inside the caller's transaction: parents before children,
// deferrable cycle edges deferred, non-deferrable nullable ones inserted as NULL and fixed up
// afterwards, sequences moved past the copied ids. Each table streams from the source's
// `COPY (SELECT … FROM selection) TO STDOUT` (the selected rows, when the selection's temporary
// table holds them whole; else `COPY (SELECT … JOIN selection)`) into the target's
// `COPY … FROM STDIN` (pg-copy-streams),
// so memory stays at a few chunks whatever the size; rows are decoded only for tables with
// anonymization rules or cycle fix-ups, others pass through as the server wrote them.
import { PassThrough, Transform, TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ClientBase } from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { applyTransforms, compileTable, RandomSource, cryptoRandom, Row, sqlTransforms } from "./anonymize";
import { Catalog, ForeignKey, qualified, quoteIdent, Table } from "./catalog";
import type { SampleConfig } from "./config";
import { insertionOrder } from "./graph";
import { columnSql, Selection } from "./select";

const KEY_CHUNK = 2000;
/** Bytes of COPY data buffered between the source's read of a table and the target's write of it. */
const COPY_BUFFER_BYTES = 8 * 2 ** 20;
/** Bytes CopyLines gathers before passing data on (one target write per batch, not per network read). */
const COPY_BATCH_BYTES = 64 * 2 ** 10;

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
    // A self-reference needs no fix-up: the table's rows arrive in one COPY, and a constraint that
    // is not deferrable is checked at the end of that command, when every row is there
    // ("checked immediately after every command", https://www.postgresql.org/docs/current/sql-createtable.html).
    if (fk.deferrable || fk.table === fk.refTable) continue;
    const p = plans.get(fk.table);
    if (!p) continue;
    const nullable = fk.columns.every((c) => !p.target.columns.find((x) => x.name === c)?.notNull && p.columns.includes(c));
    const keyed = p.target.primaryKey.length > 0 && p.target.primaryKey.every((c) => p.columns.includes(c));
    if (nullable && keyed) p.fixups.push(fk);
    else {
      errors.push(`${fk.table}.${fk.name} is part of a reference cycle but neither DEFERRABLE nor nullable on a table with a primary key: rows cannot be ordered`);
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
    const names = [...plans.keys()];
    const any = (await target.query<Record<string, boolean>>(`SELECT ${names.map((name, i) => `EXISTS (SELECT 1 FROM ${qualified(schema, name)}) AS b${i}`).join(", ")}`)).rows[0];
    for (const [i, name] of names.entries()) {
      if (!any[`b${i}`]) continue;
      // A deferred table whose selection is empty is not copied, as a held one with no rows is not.
      const later = selection.tables.get(name)!.deferred;
      if (later === undefined || (await source.query(`SELECT EXISTS (SELECT 1 ${later}) AS some`)).rows[0].some) busy.push(name);
    }
    if (busy.length > 0) {
      throw new Error(`target tables are not empty: ${busy.join(", ")}; pass --replace to truncate them first`);
    }
  }

  const rows = new Map<string, number>();
  const fixupValues = new Map<ForeignKey, { keys: Row[]; values: Row[] }>();
  // Two loops joined by one bounded buffer per table: the source reads (and rewrites) table i+1
  // while the target still writes table i, so the source's joins and the target's inserts and
  // foreign-key checks run at the same time (two server processes). Memory stays bounded: the
  // source starts table i+1 only once the target has finished table i-1 (two buffers at most),
  // and a full buffer pauses its COPY (backpressure).
  const buffers = insertion.order.map(() => new PassThrough({ highWaterMark: COPY_BUFFER_BYTES }));
  const counted: CopyLines[] = [];
  const written = insertion.order.map(() => {
    let settle: { resolve: () => void; reject: (e: unknown) => void } = { resolve: () => undefined, reject: () => undefined };
    const promise = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    promise.catch(() => undefined);
    return { promise, ...settle };
  });
  const produce = async () => {
    for (const [i, name] of insertion.order.entries()) {
      if (i >= 2) await written[i - 2].promise;
      const plan = plans.get(name)!;
      const sel = selection.tables.get(name)!;
      const transforms = compileTable(config, plan.source, plan.columns, opts.random ?? cryptoRandom);
      // Rules the source applies in the SELECT below (null, templates) are not applied again here.
      const inSql = sqlTransforms(config, plan.source, plan.columns);
      for (const c of inSql.keys()) transforms.delete(c);
      const fixupIdx = plan.fixups.map((fk) => ({ fk, cols: fk.columns.map((c) => plan.columns.indexOf(c)), pk: plan.target.primaryKey.map((c) => plan.columns.indexOf(c)) }));
      for (const f of fixupIdx) fixupValues.set(f.fk, { keys: [], values: [] });
      const held = sel.deferred === undefined && plan.columns.every((c) => sel.stored.includes(c));
      const on = sel.keyColumns.map((k) => `s.c${sel.stored.indexOf(k)} = t.${columnSql(k)}`).join(" AND ");
      const column = held ? (c: string) => `s.c${sel.stored.indexOf(c)}` : (c: string) => `t.${quoteIdent(c)}`;
      const select = plan.columns.map((c, j) => inSql.get(j)?.(column) ?? column(c)).join(", ");
      const out = source.query(
        copyTo(
          held
            ? `COPY (SELECT ${select} FROM ${sel.temp} s) TO STDOUT`
            : sel.deferred !== undefined
              ? `COPY (SELECT ${select} ${sel.deferred}) TO STDOUT`
              : `COPY (SELECT ${select} FROM ${qualified(sourceCatalog.schema, name)} t JOIN ${sel.temp} s ON ${on}) TO STDOUT`,
        ),
      );
      let rewrite: ((row: Row) => Row) | undefined;
      if (transforms.size > 0 || fixupIdx.length > 0) {
        rewrite = (original) => {
          const row = applyTransforms(original, transforms);
          for (const f of fixupIdx) {
            const values = f.cols.map((c) => row[c]);
            if (values.every((v) => v !== null)) {
              fixupValues.get(f.fk)!.keys.push(f.pk.map((c) => row[c]));
              fixupValues.get(f.fk)!.values.push(values);
              for (const c of f.cols) row[c] = null;
            }
          }
          return row;
        };
      }
      // The columns the rewrite reads or sets: the rest of each row passes through as bytes.
      const fields = [...transforms].every(([, f]) => f.reads)
        ? [...transforms].flatMap(([c, f]) => [c, ...f.reads!]).concat(fixupIdx.flatMap((f) => [...f.cols, ...f.pk]))
        : undefined;
      counted[i] = new CopyLines(rewrite, fields);
      await pipeline(out, counted[i], buffers[i]);
    }
  };
  const consume = async () => {
    for (const [i, name] of insertion.order.entries()) {
      const plan = plans.get(name)!;
      const into = target.query(copyFrom(`COPY ${qualified(schema, name)} (${plan.columns.map(quoteIdent).join(", ")}) FROM STDIN`));
      await pipeline(buffers[i], into);
      rows.set(name, counted[i].rows);
      log(`copied ${counted[i].rows} row(s) into ${name}`);
      written[i].resolve();
    }
  };
  // A failure on either side ends the other (a stalled buffer would otherwise wait forever): the
  // buffers close, so the other side's pipeline fails too (a target COPY is then aborted with
  // CopyFail); the first error is the one reported.
  const stopAll = (e: unknown) => {
    for (const b of buffers) b.destroy();
    for (const w of written) w.reject(e);
    throw e;
  };
  await Promise.all([produce().catch(stopAll), consume().catch(stopAll)]);

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
    await target.query(`SELECT setval($1::regclass, m) FROM (SELECT max(${quoteIdent(s.col)}) AS m FROM ${qualified(schema, s.tbl)}) x WHERE m IS NOT NULL`, [s.seq]);
  }
}

/**
 * Passes COPY text-format data through, counting rows; with `rewrite`, decodes each row into
 * text values (null = \\N), rewrites it and encodes it again. COPY's text format escapes
 * backslash, newline, carriage return and tab inside values, so every raw newline ends a row and
 * every raw tab ends a field (https://www.postgresql.org/docs/current/sql-copy.html, "Text Format").
 * With `fields` (the only column indexes the rewrite reads or changes), the rows stay bytes: only
 * those fields are decoded (the row handed to `rewrite` has nothing at the other indexes) and only
 * the ones it changed are encoded again, the rest of each line is copied as it came.
 */
export class CopyLines extends Transform {
  rows = 0;
  private rest: Buffer = Buffer.alloc(0);
  /** Chunks not yet passed on: the source's COPY arrives in many small reads, handed on in ~64 KiB batches. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly fields?: number[];

  constructor(
    private readonly rewrite?: (row: Row) => Row,
    fields?: readonly number[],
  ) {
    super();
    if (fields) this.fields = [...new Set(fields)].sort((a, b) => a - b);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < COPY_BATCH_BYTES) {
      done();
      return;
    }
    this.pass(done);
  }

  override _flush(done: TransformCallback): void {
    this.pass((e, data) => {
      if (e) return done(e);
      if (data !== undefined) this.push(data);
      if (this.rest.length > 0) done(new Error("COPY data ended inside a row"));
      else done();
    });
  }

  private pass(done: TransformCallback): void {
    try {
      const chunk = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      if (chunk.length === 0) {
        done();
        return;
      }
      if (!this.rewrite) {
        for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) this.rows++;
        done(null, chunk);
        return;
      }
      const data = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
      const last = data.lastIndexOf(10);
      if (last < 0) {
        this.rest = data;
        done();
        return;
      }
      this.rest = data.subarray(last + 1);
      if (this.fields) {
        done(null, this.rewriteFields(data, last, this.rewrite, this.fields));
        return;
      }
      const out: string[] = [];
      for (const line of data.toString("utf8", 0, last).split("\n")) {
        // Fields the rewrite left as they were keep their COPY text; only changed ones are encoded.
        const raw = line.split("\t");
        const row = raw.map(decodeCopyField);
        // A copy: a rewrite may change its argument in place and return it.
        const rewritten = this.rewrite(row.slice());
        if (rewritten.length !== raw.length) throw new Error(`a row rewrite returned ${rewritten.length} values for ${raw.length} columns`);
        for (let i = 0; i < raw.length; i++) if (rewritten[i] !== row[i]) raw[i] = encodeCopyField(rewritten[i]);
        out.push(raw.join("\t"));
        this.rows++;
      }
      done(null, out.join("\n") + "\n");
    } catch (e) {
      done(e as Error);
    }
  }

  /** The lines of data[0..last] (last = a newline) with the rewrite applied to `fields` only. */
  private rewriteFields(data: Buffer, last: number, rewrite: (row: Row) => Row, fields: number[]): Buffer {
    const max = fields[fields.length - 1];
    const starts = new Array<number>(max + 1);
    const ends = new Array<number>(max + 1);
    const out = new ByteWriter(data.length + 256);
    for (let start = 0; start <= last;) {
      const end = data.indexOf(10, start);
      for (let f = 0, p = start; f <= max; f++) {
        if (p > end) throw new Error(`a COPY row has ${f} field(s), the rewrite reads field ${max + 1}`);
        const tab = data.indexOf(9, p);
        starts[f] = p;
        ends[f] = tab >= 0 && tab < end ? tab : end;
        p = ends[f] + 1;
      }
      const row: Row = new Array(max + 1);
      for (const f of fields) row[f] = decodeCopyField(data.toString("utf8", starts[f], ends[f]));
      // A copy: a rewrite may change its argument in place and return it.
      const rewritten = rewrite(row.slice());
      let from = start;
      for (const f of fields) {
        if (rewritten[f] === row[f]) continue;
        out.copy(data, from, starts[f]);
        out.text(encodeCopyField(rewritten[f]));
        from = ends[f];
      }
      out.copy(data, from, end + 1);
      this.rows++;
      start = end + 1;
    }
    return out.result();
  }
}

/** An output buffer that grows as bytes are appended. */
class ByteWriter {
  private buf: Buffer;
  private length = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  copy(source: Buffer, start: number, end: number): void {
    if (end <= start) return;
    this.room(end - start);
    this.length += source.copy(this.buf, this.length, start, end);
  }

  text(value: string): void {
    this.room(Buffer.byteLength(value));
    this.length += this.buf.write(value, this.length);
  }

  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

const DECODE: Record<string, string> = { b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" };

/** One COPY text-format line into values. */
export function decodeCopyRow(line: string): Row {
  return line.split("\t").map(decodeCopyField);
}

/** One COPY text-format field into its value (null for \\N). */
function decodeCopyField(field: string): string | null {
  if (field === "\\N") return null;
  if (!field.includes("\\")) return field;
  return field.replace(/\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|.)/g, (_m, e: string) => {
    if (e[0] === "x") return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return DECODE[e] ?? e;
  });
}

/** Values into one COPY text-format line (without its newline). */
export function encodeCopyRow(row: Row): string {
  return row.map(encodeCopyField).join("\t");
}

function encodeCopyField(v: string | null): string {
  return v === null ? "\\N" : v.replace(/[\\\n\r\t]/g, (c) => (c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\t"));
}
