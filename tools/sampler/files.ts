// Files that follow sampled rows: the sampler config's `files` rules map rows of the sampled (dev)
// database to paths under a vault directory; copyFollowingFiles copies exactly those files from the
// prod vault into the dev vault, keeping the layout, and never writes anywhere under the prod vault.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { ClientBase } from "pg";
import { z } from "zod";
import type { Catalog } from "./catalog";
import { qualified, quoteIdent } from "./catalog";
import { hasProdToken } from "./safety";

/**
 * One placeholder: `{column}`, `{column[a:b]}` (characters a..b-1 of the value), `{sha256(column)}`,
 * `{md5(column)[0:2]}` (lower-case hex digest of the value's text, optionally sliced). Makapix's
 * vault shards by sha256 of the post's storage key: `ab/cd/ef/<key>.png` (fabkury/makapix
 * api/app/vault.py, get_artwork_folder_path).
 */
const PLACEHOLDER = /\{(?:(sha256|md5)\(([A-Za-z_][A-Za-z0-9_$]*)\)|([A-Za-z_][A-Za-z0-9_$]*))(?:\[(\d+):(\d+)\])?\}/g;

function checkTemplate(template: string): string | undefined {
  if (template.includes("\0")) return "contains a NUL byte";
  if (template.startsWith("/") || /^[A-Za-z]:[\\/]/.test(template)) return "is absolute; paths are relative to the vault";
  if (template.includes("\\")) return "contains a backslash; use /";
  const literal = template.replace(PLACEHOLDER, "x");
  if (/[{}]/.test(literal)) return "has a placeholder that is not {column}, {column[a:b]} or {sha256(column)[a:b]} / {md5(...)}";
  const segments = literal.split("/");
  if (segments.some((s) => s === ".." || s === ".")) return "has a . or .. segment";
  if (segments.some((s) => s === "")) return "has an empty segment (// or a trailing /)";
  if (segments.slice(0, -1).some((s) => s.includes("*"))) return "has * outside its last segment";
  return undefined;
}

export const FileRuleSchema = z
  .object({
    /** Table whose copied rows own files (usually a follow table, e.g. posts). */
    table: z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, "must be a plain SQL identifier"),
    /**
     * Path templates relative to the vault root, one per file a row owns (original and derived
     * variants). `*` in the last segment matches any characters of the file name.
     */
    paths: z
      .array(z.string().min(1))
      .min(1)
      .superRefine((templates, ctx) => {
        templates.forEach((t, i) => {
          const problem = checkTemplate(t);
          if (problem) ctx.addIssue({ code: "custom", path: [i], message: `path template ${JSON.stringify(t)} ${problem}` });
        });
      }),
  })
  .strict();
export type FileRule = z.infer<typeof FileRuleSchema>;

interface Piece {
  literal?: string;
  column?: string;
  hash?: "sha256" | "md5";
  slice?: [number, number];
}

function parseTemplate(template: string): Piece[] {
  const pieces: Piece[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (m.index! > last) pieces.push({ literal: template.slice(last, m.index) });
    pieces.push({
      column: m[2] ?? m[3],
      hash: m[1] as Piece["hash"],
      slice: m[4] !== undefined ? [Number(m[4]), Number(m[5])] : undefined,
    });
    last = m.index! + m[0].length;
  }
  if (last < template.length) pieces.push({ literal: template.slice(last) });
  return pieces;
}

/** Columns a template reads. */
export function templateColumns(template: string): string[] {
  return [...new Set(parseTemplate(template).flatMap((p) => (p.column ? [p.column] : [])))];
}

/** Checks the rules against a catalog: tables and columns exist. Returns problems, empty when fine. */
export function checkFileRules(rules: FileRule[], catalog: Catalog): string[] {
  const problems: string[] = [];
  for (const rule of rules) {
    const t = catalog.tables.find((x) => x.name === rule.table);
    if (!t) {
      problems.push(`files: table ${rule.table} does not exist in schema ${catalog.schema}`);
      continue;
    }
    for (const template of rule.paths) {
      for (const c of templateColumns(template)) {
        if (!t.columns.some((x) => x.name === c)) problems.push(`files: ${rule.table}: template ${JSON.stringify(template)} refers to unknown column ${c}`);
      }
    }
  }
  return problems;
}

export type Expanded = { ok: true; path: string; glob: RegExp | undefined } | { ok: false; reason: "null" | "unsafe"; detail: string };

/**
 * Expands a template for one row (values by column name, as PostgreSQL's text output). A null
 * value means the row has no such file; a value that would leave the vault root (a `..` segment,
 * an absolute path, a NUL or backslash) is refused.
 */
export function expandTemplate(template: string, row: Record<string, string | null>): Expanded {
  const pieces = parseTemplate(template);
  let out = "";
  // For a * in the last segment: the file name's pattern (reset at each /), row values matched literally.
  let pattern = "";
  for (const p of pieces) {
    if (p.literal !== undefined) {
      out += p.literal;
      const tail = p.literal.includes("/") ? ((pattern = ""), p.literal.slice(p.literal.lastIndexOf("/") + 1)) : p.literal;
      pattern += tail.split("*").map(escapeRegex).join("[^/]*");
      continue;
    }
    const raw = row[p.column!];
    if (raw === null || raw === undefined) return { ok: false, reason: "null", detail: p.column! };
    let value = p.hash ? createHash(p.hash).update(raw).digest("hex") : raw;
    if (p.slice) value = value.slice(p.slice[0], p.slice[1]);
    out += value;
    if (value.includes("/")) pattern = "";
    pattern += escapeRegex(value.slice(value.lastIndexOf("/") + 1));
  }
  const unsafe = (why: string): Expanded => ({ ok: false, reason: "unsafe", detail: `${JSON.stringify(out)} ${why}` });
  if (out.includes("\0")) return unsafe("contains a NUL byte");
  if (out.includes("\\")) return unsafe("contains a backslash");
  if (out.startsWith("/")) return unsafe("is absolute");
  const segments = out.split("/");
  if (segments.some((s) => s === ".." || s === ".")) return unsafe("has a . or .. segment");
  if (segments.some((s) => s === "")) return unsafe("has an empty segment");
  const hasGlob = template.replace(PLACEHOLDER, "").includes("*");
  if (!hasGlob) return { ok: true, path: out, glob: undefined };
  const dirPart = segments.slice(0, -1).join("/");
  return { ok: true, path: dirPart, glob: new RegExp(`^${pattern}$`) };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export class FilesError extends Error {}

/** `p` is `root` or inside it (both absolute, normalised). */
export function isWithin(p: string, root: string): boolean {
  const rel = path.relative(root, p);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/** The real path of `p`, resolving symlinks of its longest existing ancestor (p may not exist yet). */
export function realPathOf(p: string): string {
  const abs = path.resolve(p);
  const rest: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return path.join(fs.realpathSync(cur), ...rest.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return abs;
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
}

/**
 * Refuses a destination that is, or lies inside, the source vault (by name or through a symlink),
 * one that contains the source vault, and one whose path names the prod env token.
 */
export function checkDestination(fromDir: string, toDir: string): { from: string; to: string } {
  const fromAbs = path.resolve(fromDir);
  let from: string;
  try {
    from = fs.realpathSync(fromAbs);
  } catch {
    throw new FilesError(`--files ${fromDir}: no such directory`);
  }
  if (!fs.statSync(from).isDirectory()) throw new FilesError(`--files ${fromDir}: not a directory`);
  const toAbs = path.resolve(toDir);
  const to = realPathOf(toAbs);
  for (const [name, candidate] of [
    ["--to", toAbs],
    ["--to (symlinks resolved)", to],
  ] as const) {
    if (isWithin(candidate, from) || isWithin(candidate, fromAbs)) {
      throw new FilesError(`refusing to write into ${toDir}: ${name} ${candidate} is the source vault ${fromDir} or inside it`);
    }
    if (isWithin(from, candidate) || isWithin(fromAbs, candidate)) {
      throw new FilesError(`refusing to write into ${toDir}: it contains the source vault ${fromDir}`);
    }
  }
  const prodSegment = [toAbs, to].flatMap((p) => p.split(path.sep)).find((s) => hasProdToken(s));
  if (prodSegment !== undefined) throw new FilesError(`refusing to write into ${toDir}: its path names the prod env token (${prodSegment})`);
  return { from, to };
}

export interface FilesResult {
  /** Rows of the rules' tables read from the sampled database. */
  rows: number;
  copied: number;
  bytes: number;
  /** Already in the destination with the same size and modification time. */
  unchanged: number;
  /** Paths whose source file does not exist (or a glob that matched nothing). */
  missing: number;
  /** Paths whose value is NULL in the row: the row owns no such file. */
  nullPaths: number;
  /** Paths refused: they would leave the vault, or reach outside it through a symlink. */
  refused: number;
  /** Up to 10 refused paths with the reason. */
  refusedExamples: string[];
  seconds: number;
}

const FETCH = 5000;

/**
 * Copies the files of every row of the rules' tables in the sampled database `client` from
 * `fromDir` to `toDir`. Rows are read in batches through a cursor (memory bounded by one batch);
 * files go to a temporary name in the destination directory and are renamed into place, so an
 * existing symlink there is replaced, never followed.
 */
export async function copyFollowingFiles(
  client: ClientBase,
  schema: string,
  rules: FileRule[],
  fromDir: string,
  toDir: string,
  log: (line: string) => void = () => undefined,
): Promise<FilesResult> {
  const started = process.hrtime.bigint();
  const { from, to } = checkDestination(fromDir, toDir);
  const result: FilesResult = { rows: 0, copied: 0, bytes: 0, unchanged: 0, missing: 0, nullPaths: 0, refused: 0, refusedExamples: [], seconds: 0 };
  const refuse = (detail: string) => {
    result.refused++;
    if (result.refusedExamples.length < 10) result.refusedExamples.push(detail);
  };
  fs.mkdirSync(to, { recursive: true });
  const seen = new Set<string>();

  const copyOne = (rel: string) => {
    if (seen.has(rel)) return;
    seen.add(rel);
    const src = path.join(from, rel);
    let real: string;
    try {
      real = fs.realpathSync(src);
    } catch {
      result.missing++;
      return;
    }
    if (!isWithin(real, from)) return refuse(`${JSON.stringify(rel)} is a symlink out of the source vault`);
    const st = fs.statSync(real);
    if (!st.isFile()) return refuse(`${JSON.stringify(rel)} is not a regular file`);
    const dest = path.join(to, rel);
    const destDir = path.dirname(dest);
    fs.mkdirSync(destDir, { recursive: true });
    const realDestDir = fs.realpathSync(destDir);
    if (!isWithin(realDestDir, to) || isWithin(realDestDir, from)) {
      return refuse(`${JSON.stringify(rel)}: its directory in the destination resolves to ${realDestDir}, outside ${toDir}`);
    }
    const there = fs.lstatSync(dest, { throwIfNoEntry: false });
    // utimes keeps times to about a millisecond (seconds as a float), so compare at that precision.
    if (there?.isFile() && there.size === st.size && Math.abs(there.mtimeMs - st.mtimeMs) < 2) {
      result.unchanged++;
      return;
    }
    const tmp = path.join(realDestDir, `.${path.basename(dest)}.twinstack-${process.pid}.tmp`);
    fs.copyFileSync(real, tmp, fs.constants.COPYFILE_EXCL);
    fs.utimesSync(tmp, st.atime, st.mtime);
    fs.renameSync(tmp, path.join(realDestDir, path.basename(dest)));
    result.copied++;
    result.bytes += st.size;
  };

  const copyGlob = (dirRel: string, glob: RegExp) => {
    const dir = path.join(from, dirRel);
    let names: string[];
    try {
      const real = fs.realpathSync(dir);
      if (!isWithin(real, from)) return refuse(`${JSON.stringify(dirRel)} is a symlink out of the source vault`);
      names = fs.readdirSync(real).filter((n) => glob.test(n));
    } catch {
      names = [];
    }
    if (names.length === 0) result.missing++;
    for (const n of names.sort()) copyOne(dirRel === "" ? n : `${dirRel}/${n}`);
  };

  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  try {
    for (const rule of rules) {
      const columns = [...new Set(rule.paths.flatMap(templateColumns))];
      const cursor = `twinstack_files_${rule.table}`.slice(0, 60);
      const select = columns.length > 0 ? columns.map((c) => `${quoteIdent(c)}::text AS ${quoteIdent(c)}`).join(", ") : "1";
      await client.query(`DECLARE ${quoteIdent(cursor)} NO SCROLL CURSOR FOR SELECT ${select} FROM ${qualified(schema, rule.table)}`);
      let tableRows = 0;
      for (;;) {
        const batch = await client.query<Record<string, string | null>>(`FETCH ${FETCH} FROM ${quoteIdent(cursor)}`);
        for (const row of batch.rows) {
          for (const template of rule.paths) {
            const e = expandTemplate(template, row);
            if (!e.ok) {
              if (e.reason === "null") result.nullPaths++;
              else refuse(`${rule.table}: ${e.detail}`);
              continue;
            }
            if (e.glob) copyGlob(e.path, e.glob);
            else copyOne(e.path);
          }
        }
        tableRows += batch.rows.length;
        if (batch.rows.length < FETCH) break;
      }
      await client.query(`CLOSE ${quoteIdent(cursor)}`);
      result.rows += tableRows;
      log(`files: ${rule.table}: ${tableRows} row(s) read`);
    }
  } finally {
    await client.query("COMMIT").catch(() => undefined);
  }
  result.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return result;
}

export function formatFilesSummary(r: FilesResult, fromDir: string, toDir: string): string {
  const lines = [
    `files from ${fromDir} to ${toDir}: ${r.rows} row(s) read`,
    `  copied     ${String(r.copied).padStart(8)}  (${r.bytes} bytes)`,
    `  unchanged  ${String(r.unchanged).padStart(8)}`,
    `  missing    ${String(r.missing).padStart(8)}  (not in the source vault; skipped)`,
    `  refused    ${String(r.refused).padStart(8)}`,
    `in ${r.seconds.toFixed(2)} s`,
  ];
  if (r.nullPaths > 0) lines.splice(5, 0, `  no path    ${String(r.nullPaths).padStart(8)}  (a template column is NULL)`);
  for (const x of r.refusedExamples) lines.push(`refused: ${x}`);
  return lines.join("\n");
}
