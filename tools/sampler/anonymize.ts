// Applies the per-column rules to rows held as PostgreSQL text values (null = SQL NULL).
import { randomBytes, randomUUID } from "node:crypto";
import type { Table } from "./catalog";
import { PLACEHOLDER, SampleConfig } from "./config";

export type Row = (string | null)[];

/** A column's new value from the row's original values; `reads`: the only columns it looks at. */
export type ColumnTransform = ((row: Row) => string | null) & { reads?: readonly number[] };

/** A transform that reads only the `reads` columns of its row. */
function reading(reads: number[], f: (row: Row) => string | null): ColumnTransform {
  return Object.assign(f, { reads });
}

export interface RandomSource {
  hex(bytes: number): string;
  uuid(): string;
}

/** Random bytes drawn from the OS generator in blocks: one call per 64 KiB rather than per value. */
let pool = Buffer.alloc(0);
let poolOffset = 0;
function poolHex(n: number): string {
  if (n > 4096) return randomBytes(n).toString("hex");
  if (poolOffset + n > pool.length) {
    pool = randomBytes(65536);
    poolOffset = 0;
  }
  poolOffset += n;
  return pool.toString("hex", poolOffset - n, poolOffset);
}

export const cryptoRandom: RandomSource = { hex: poolHex, uuid: () => randomUUID() };

/**
 * Compiles the rules of one table against the column order of the rows it will receive.
 * Returns transforms by column index; columns without a rule (or "keep") are absent.
 */
export function compileTable(config: SampleConfig, table: Table, columns: string[], random: RandomSource = cryptoRandom): Map<number, ColumnTransform> {
  const out = new Map<number, ColumnTransform>();
  const indexOf = (name: string) => {
    const i = columns.indexOf(name);
    if (i < 0) throw new Error(`anonymize ${table.name}: template column ${name} is not among the copied columns`);
    return i;
  };
  columns.forEach((name, i) => {
    const key = `${table.name}.${name}`;
    if (!(key in config.anonymize)) return;
    const rule = config.anonymize[key];
    if (rule === "keep") return;
    if (rule === null) {
      out.set(
        i,
        reading([], () => null),
      );
      return;
    }
    if (rule === "random") {
      const type = table.columns.find((c) => c.name === name)?.type ?? "text";
      if (type === "uuid")
        out.set(
          i,
          reading([], () => random.uuid()),
        );
      else if (type === "bytea")
        out.set(
          i,
          reading([], () => `\\x${random.hex(24)}`),
        );
      else {
        // Fits char(n)/varchar(n); 48 hex chars otherwise.
        const limit = /\((\d+)\)$/.exec(type);
        const length = limit ? Math.min(48, Number(limit[1])) : 48;
        out.set(
          i,
          reading([], () => random.hex(Math.ceil(length / 2)).slice(0, length)),
        );
      }
      return;
    }
    const parts = templateParts(String(rule), indexOf);
    out.set(
      i,
      reading(
        parts.filter((p): p is number => typeof p === "number"),
        (row) => parts.map((p) => (typeof p === "number" ? (row[p] ?? "") : p)).join(""),
      ),
    );
  });
  return out;
}

/** A template as its text pieces and, between them, the indexes of the columns it reads. */
function templateParts(template: string, indexOf: (name: string) => number): (string | number)[] {
  const parts: (string | number)[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    parts.push(template.slice(last, m.index), indexOf(m[1]));
    last = m.index! + m[0].length;
  }
  parts.push(template.slice(last));
  return parts;
}

/** A string as an SQL literal, whatever standard_conforming_strings is (an E'' string). */
function sqlLiteral(value: string): string {
  return `E'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/**
 * The rules of one table the source server can apply in the copy's own SELECT, so their rows need
 * no decoding in node: null, and templates as `concat` of the template's text and the columns'
 * values (`concat` renders each value with its type's output function, as COPY does, and NULL as
 * empty, as compileTable's templates do; https://www.postgresql.org/docs/current/functions-string.html).
 * By column index, each a function of how the SELECT names a source column. "random" is left to
 * compileTable (node's generator or the caller's RandomSource); the templates' columns are
 * checked there.
 */
export function sqlTransforms(config: SampleConfig, table: Table, columns: string[]): Map<number, (column: (name: string) => string) => string> {
  const out = new Map<number, (column: (name: string) => string) => string>();
  columns.forEach((name, i) => {
    const key = `${table.name}.${name}`;
    if (!(key in config.anonymize)) return;
    const rule = config.anonymize[key];
    if (rule === "keep" || rule === "random") return;
    if (rule === null) {
      out.set(i, () => "NULL");
      return;
    }
    const parts = templateParts(String(rule), (c) => columns.indexOf(c));
    if (parts.some((p) => p === -1)) return;
    out.set(i, (column) => `concat(${parts.map((p) => (typeof p === "number" ? column(columns[p]) : sqlLiteral(p))).join(", ")})`);
  });
  return out;
}

/** New row with the transforms applied; templates always see the original source values. */
export function applyTransforms(row: Row, transforms: Map<number, ColumnTransform>): Row {
  if (transforms.size === 0) return row;
  const out = row.slice();
  for (const [i, f] of transforms) out[i] = f(row);
  return out;
}
