// Reads tables, columns, keys and the foreign-key graph of one schema from pg_catalog.
import type { ClientBase } from "pg";

export interface Column {
  name: string;
  /** format_type(): usable in casts, e.g. "bigint", "character varying(80)", "text[]". */
  type: string;
  notNull: boolean;
  /** Stored generated column: never inserted. */
  generated: boolean;
  /** "a" = GENERATED ALWAYS AS IDENTITY, "d" = BY DEFAULT, "" = none. */
  identity: "" | "a" | "d";
}

export interface Table {
  name: string;
  columns: Column[];
  /** Primary key columns in key order; empty when the table has none. */
  primaryKey: string[];
}

export interface ForeignKey {
  name: string;
  /** Referencing (child) table. */
  table: string;
  columns: string[];
  /** Referenced (parent) table. */
  refTable: string;
  refColumns: string[];
  deferrable: boolean;
  /** Every referencing column is nullable: the reference can be inserted as NULL and set later. */
  nullable: boolean;
}

export interface Catalog {
  schema: string;
  tables: Table[];
  foreignKeys: ForeignKey[];
  /** Foreign keys that leave the schema: the sampler cannot follow them. */
  externalForeignKeys: string[];
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

export function tableOf(catalog: Catalog, name: string): Table {
  const t = catalog.tables.find((x) => x.name === name);
  if (!t) throw new Error(`table ${catalog.schema}.${name} does not exist`);
  return t;
}

export function columnOf(table: Table, name: string): Column {
  const c = table.columns.find((x) => x.name === name);
  if (!c) throw new Error(`column ${table.name}.${name} does not exist`);
  return c;
}

export async function readCatalog(client: ClientBase, schema: string): Promise<Catalog> {
  const tables = await client.query<{ oid: number; name: string }>(
    `SELECT c.oid::int AS oid, c.relname::text AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      ORDER BY c.relname`,
    [schema],
  );
  const oids = tables.rows.map((r) => r.oid);
  const columns = await client.query<{ oid: number; name: string; type: string; notnull: boolean; generated: string; identity: string }>(
    `SELECT a.attrelid::int AS oid, a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS notnull, a.attgenerated::text AS generated, a.attidentity::text AS identity
       FROM pg_attribute a
      WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [oids],
  );
  const primaryKeys = await client.query<{ oid: number; columns: string[] }>(
    `SELECT con.conrelid::int AS oid, array_agg(a.attname::text ORDER BY k.ord) AS columns
       FROM pg_constraint con
       CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
      WHERE con.contype = 'p' AND con.conrelid = ANY($1::oid[])
      GROUP BY con.conrelid`,
    [oids],
  );
  const foreignKeys = await client.query<{
    name: string;
    child_schema: string;
    child: string;
    parent_schema: string;
    parent: string;
    columns: string[];
    ref_columns: string[];
    deferrable: boolean;
  }>(
    `SELECT con.conname AS name,
            cn.nspname AS child_schema, c.relname AS child, pn.nspname AS parent_schema, p.relname AS parent,
            array_agg(ca.attname::text ORDER BY k.ord) AS columns, array_agg(pa.attname::text ORDER BY k.ord) AS ref_columns,
            con.condeferrable AS deferrable
       FROM pg_constraint con
       JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
       JOIN pg_class p ON p.oid = con.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
       CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(att, fatt, ord)
       JOIN pg_attribute ca ON ca.attrelid = con.conrelid AND ca.attnum = k.att
       JOIN pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = k.fatt
      WHERE con.contype = 'f' AND (cn.nspname = $1 OR pn.nspname = $1)
        AND con.conparentid = 0
      GROUP BY con.oid, con.conname, cn.nspname, c.relname, pn.nspname, p.relname, con.condeferrable
      ORDER BY c.relname, con.conname`,
    [schema],
  );

  const byOid = new Map<number, Table>();
  for (const r of tables.rows) byOid.set(r.oid, { name: r.name, columns: [], primaryKey: [] });
  for (const r of columns.rows) {
    byOid.get(r.oid)!.columns.push({
      name: r.name,
      type: r.type,
      notNull: r.notnull,
      generated: r.generated !== "",
      identity: (r.identity || "") as Column["identity"],
    });
  }
  for (const r of primaryKeys.rows) byOid.get(r.oid)!.primaryKey = r.columns;

  const internal: ForeignKey[] = [];
  const external: string[] = [];
  for (const r of foreignKeys.rows) {
    if (r.child_schema === schema && r.parent_schema === schema) {
      const child = [...byOid.values()].find((t) => t.name === r.child)!;
      const nullable = r.columns.every((c) => !child.columns.find((x) => x.name === c)?.notNull);
      internal.push({ name: r.name, table: r.child, columns: r.columns, refTable: r.parent, refColumns: r.ref_columns, deferrable: r.deferrable, nullable });
    } else {
      external.push(`${r.child_schema}.${r.child} ${r.name} -> ${r.parent_schema}.${r.parent}`);
    }
  }
  return { schema, tables: [...byOid.values()], foreignKeys: internal, externalForeignKeys: external };
}
