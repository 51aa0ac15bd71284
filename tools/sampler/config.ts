// The sampling config (YAML), its zod schema, and the checks of a config against a real catalog.
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { Catalog, ForeignKey, Table } from "./catalog";
import { checkFileRules, FileRuleSchema } from "./files";
import { insertionOrder, parentClosure } from "./graph";

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, "must be a plain SQL identifier");

/**
 * Column rule: null -> NULL; "keep" -> copied as is; "random" -> fresh random value (text,
 * uuid, bytea columns); any other string -> template where {column} is replaced with that
 * column's source value (a string without placeholders is a constant); numbers/booleans -> constants.
 */
export const RuleSchema = z.union([z.null(), z.string(), z.number(), z.boolean()], {
  error: "a rule is null, keep, random, a template string, a number or a boolean",
});
export type Rule = z.infer<typeof RuleSchema>;

export const FollowSchema = z.union(
  [
    identifier.transform((table) => ({ table, match: "all" as const, via: undefined as string[] | undefined })),
    z
      .object({
        table: identifier,
        /**
         * all: a row qualifies when every considered FK that is set points at a selected row
         * (follows: both ends sampled). any: when at least one does.
         */
        match: z.enum(["all", "any"]).default("all"),
        /** Only consider the FKs whose columns are all listed here (default: every FK to a selected table). */
        via: z.array(identifier).min(1).optional(),
      })
      .strict(),
  ],
  { error: "a follow entry is a table name or { table, match?, via? }" },
);
export type Follow = z.infer<typeof FollowSchema>;

export const DEFAULT_REQUIRE_RULES = ["email", "token", "secret", "passw", "api_?key", "phone"];

export const SampleConfigSchema = z
  .object({
    schema: identifier.default("public"),
    root: identifier.optional(),
    percent: z.number().gt(0).max(100).optional(),
    /** Tables copied in full (small lookup tables). */
    copyAll: z.array(identifier).default([]),
    /** Child tables whose rows follow the sampled roots, processed parents-first. */
    follow: z.array(FollowSchema).default([]),
    /** `table.column: rule`. */
    anonymize: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$/, "keys are table.column"), RuleSchema).default({}),
    /**
     * Column-name patterns (case-insensitive regexes) that must have a rule (use "keep" to copy
     * as is) in every table that may be copied, so a new `recovery_email` column cannot leak.
     */
    requireRules: z.array(z.string()).default(DEFAULT_REQUIRE_RULES),
    /**
     * Files that follow copied rows (`npm run sample -- --files <prod vault> --to <dev vault>`):
     * per table, path templates over its columns relative to the vault root.
     */
    files: z.array(FileRuleSchema).default([]),
  })
  .strict();
export type SampleConfig = z.infer<typeof SampleConfigSchema>;

interface IssueLike {
  code?: string;
  path: PropertyKey[];
  message: string;
  issues?: IssueLike[];
  errors?: IssueLike[][];
}

/** Readable zod errors: record-key problems show the key rule; unions show the closest alternative. */
export function formatZodError(err: z.ZodError): string {
  const score = (branch: IssueLike[]) => Math.max(0, ...branch.map((i) => i.path.length + (i.code === "invalid_type" ? 0 : 0.5)));
  const flatten = (issue: IssueLike, base: PropertyKey[]): string[] => {
    const path = [...base, ...issue.path];
    if (issue.code === "invalid_key" && issue.issues?.length) {
      return issue.issues.map((i) => `${path.map(String).join(".")}: invalid key: ${i.message}`);
    }
    if (issue.code === "invalid_union" && issue.errors?.length) {
      const best = [...issue.errors].sort((a, b) => score(b) - score(a))[0];
      // No alternative got past its type check: the union's own message says more.
      if (score(best) === 0) return [`${path.map(String).join(".") || "(root)"}: ${issue.message}`];
      return best.flatMap((i) => flatten(i, path));
    }
    return [`${path.length ? path.map(String).join(".") : "(root)"}: ${issue.message}`];
  };
  return (err.issues as unknown as IssueLike[]).flatMap((i) => flatten(i, [])).join("; ");
}

export function parseConfig(yamlText: string, source = "config"): SampleConfig {
  let raw: unknown;
  try {
    raw = parseYaml(yamlText) ?? {};
  } catch (e) {
    throw new Error(`${source}: invalid YAML: ${(e as Error).message}`);
  }
  const parsed = SampleConfigSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${source}: ${formatZodError(parsed.error)}`);
  for (const pattern of parsed.data.requireRules) {
    try {
      new RegExp(pattern, "i");
    } catch {
      throw new Error(`${source}: requireRules: invalid regex ${JSON.stringify(pattern)}`);
    }
  }
  return parsed.data;
}

export const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_$]*)\}/g;

const RANDOM_TYPES = /^(text|character varying(\(\d+\))?|character(\(\d+\))?|citext|uuid|bytea)$/;

export interface ResolvedPlan {
  root: string;
  percent: number;
  copyAll: string[];
  /** Follow tables in parents-first order. */
  follow: Follow[];
  /** Tables that may receive rows: roots, copyAll, follows and every table above them. */
  reachable: Set<string>;
}

/**
 * Checks a config against the source catalog and returns the resolved plan, or throws one
 * error listing every problem found.
 */
export function resolvePlan(config: SampleConfig, catalog: Catalog, overrides: { root?: string; percent?: number } = {}): ResolvedPlan {
  const errors: string[] = [];
  const root = overrides.root ?? config.root;
  const percent = overrides.percent ?? config.percent;
  const tableNames = new Set(catalog.tables.map((t) => t.name));
  const table = (name: string): Table | undefined => catalog.tables.find((t) => t.name === name);

  if (!root) errors.push("no root table: pass --root or set root in the config");
  else if (!tableNames.has(root)) errors.push(`root table ${catalog.schema}.${root} does not exist`);
  if (percent === undefined) errors.push("no percent: pass --percent or set percent in the config");
  else if (!(percent > 0 && percent <= 100)) errors.push(`percent must be in (0, 100], got ${percent}`);

  for (const t of config.copyAll) if (!tableNames.has(t)) errors.push(`copyAll: table ${t} does not exist`);
  const seen = new Set<string>();
  for (const f of config.follow) {
    if (!tableNames.has(f.table)) errors.push(`follow: table ${f.table} does not exist`);
    if (seen.has(f.table)) errors.push(`follow: table ${f.table} listed twice`);
    if (f.table === root || config.copyAll.includes(f.table)) errors.push(`follow: ${f.table} is already the root or copied in full`);
    seen.add(f.table);
  }

  // Follow tables are processed parents-first so posts are chosen before comments on them.
  const order = insertionOrder(
    catalog.tables.map((t) => t.name),
    catalog.foreignKeys,
  ).order;
  const follow = [...config.follow].sort((a, b) => order.indexOf(a.table) - order.indexOf(b.table));
  const selected = new Set<string>([...(root ? [root] : []), ...config.copyAll]);
  for (const f of follow) {
    if (!tableNames.has(f.table)) continue;
    const fks = followForeignKeys(f, catalog.foreignKeys, selected);
    if (fks.length === 0) {
      errors.push(`follow: ${f.table} has no foreign key${f.via ? ` on ${f.via.join(", ")}` : ""} to a sampled table (${[...selected].join(", ") || "none"})`);
    }
    selected.add(f.table);
  }

  const reachable = parentClosure(
    [...selected].filter((t) => tableNames.has(t)),
    catalog.foreignKeys,
  );

  // Columns that carry keys must keep their values, or references would break.
  const keyColumns = new Set<string>();
  for (const t of catalog.tables) for (const c of t.primaryKey) keyColumns.add(`${t.name}.${c}`);
  for (const fk of catalog.foreignKeys) {
    for (const c of fk.columns) keyColumns.add(`${fk.table}.${c}`);
    for (const c of fk.refColumns) keyColumns.add(`${fk.refTable}.${c}`);
  }

  for (const [key, rule] of Object.entries(config.anonymize)) {
    const [tName, cName] = key.split(".");
    const t = table(tName);
    if (!t) {
      errors.push(`anonymize ${key}: table ${tName} does not exist`);
      continue;
    }
    const col = t.columns.find((c) => c.name === cName);
    if (!col) {
      errors.push(`anonymize ${key}: column ${cName} does not exist`);
      continue;
    }
    if (rule === "keep") continue;
    if (keyColumns.has(key)) errors.push(`anonymize ${key}: a key or foreign-key column cannot be rewritten`);
    if (col.generated) errors.push(`anonymize ${key}: a generated column cannot be rewritten`);
    if (rule === null && col.notNull) errors.push(`anonymize ${key}: null for a NOT NULL column; use a template or random`);
    if (rule === "random" && !RANDOM_TYPES.test(col.type)) {
      errors.push(`anonymize ${key}: random supports text, varchar, char, citext, uuid and bytea columns, not ${col.type}`);
    }
    if (typeof rule === "string" && rule !== "random") {
      for (const m of rule.matchAll(PLACEHOLDER)) {
        if (!t.columns.some((c) => c.name === m[1])) errors.push(`anonymize ${key}: template refers to unknown column ${tName}.${m[1]}`);
      }
    }
  }

  const patterns = config.requireRules.map((p) => new RegExp(p, "i"));
  const uncovered: string[] = [];
  for (const t of catalog.tables) {
    if (!reachable.has(t.name)) continue;
    for (const c of t.columns) {
      const key = `${t.name}.${c.name}`;
      if (patterns.some((p) => p.test(c.name)) && !(key in config.anonymize) && !keyColumns.has(key)) uncovered.push(key);
    }
  }
  if (uncovered.length > 0) {
    errors.push(`columns matching requireRules have no anonymize rule: ${uncovered.join(", ")} (add a rule, or "keep" to copy them as they are)`);
  }

  errors.push(...checkFileRules(config.files, catalog));
  for (const rule of config.files) {
    if (tableNames.has(rule.table) && !reachable.has(rule.table)) {
      errors.push(`files: table ${rule.table} never receives rows under this config, so no file would follow it`);
    }
  }

  if (errors.length > 0) throw new Error(`invalid sampling plan:\n  - ${errors.join("\n  - ")}`);
  return { root: root!, percent: percent!, copyAll: config.copyAll, follow, reachable };
}

/** The FKs of a follow table that decide which of its rows are copied. */
export function followForeignKeys(f: Follow, foreignKeys: ForeignKey[], selected: Set<string>): ForeignKey[] {
  return foreignKeys.filter((fk) => fk.table === f.table && fk.refTable !== f.table && selected.has(fk.refTable) && (!f.via || fk.columns.every((c) => f.via!.includes(c))));
}
