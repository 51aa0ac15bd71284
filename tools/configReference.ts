// Renders the README's config reference table from the schema itself, so the two cannot drift.
// `npm run config-reference` prints it; a test checks the README holds exactly this table.
import type { z } from "zod";
import { parseCommandLine } from "./cli";
import { keyReference } from "../stacks/reference";

// The schema and zod (about 0.15 s of CPU to load) are required when the table is made, not
// imported: --help and usage errors answer without them.
/* eslint-disable @typescript-eslint/no-require-imports */
const zod = () => (require("zod") as typeof import("zod")).z;
const schemaModule = () => require("../model/schema") as typeof import("../model/schema");
/* eslint-enable @typescript-eslint/no-require-imports */

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  additionalProperties?: JsonSchema | boolean;
  required?: string[];
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((e) => JSON.stringify(e)).join(" \\| ");
  if (s.anyOf)
    return s.anyOf
      .map(typeOf)
      .filter((t, i, all) => all.indexOf(t) === i)
      .join(" \\| ");
  if (s.type === "array") return `list of ${s.items ? typeOf(s.items) : "any"}`;
  if (s.type === "object" && !s.properties) return "map";
  return Array.isArray(s.type) ? s.type.join(" \\| ") : (s.type ?? "any");
}

/** The zod schema at a dotted path ("app.workers[].name"), to ask it for its default. */
function zodAt(path: string): z.ZodType | undefined {
  const { ZodObject, ZodArray } = zod();
  const { stackConfigSchema, unwrapSchema } = schemaModule();
  let schema: z.ZodType | undefined = stackConfigSchema;
  for (const raw of path.split(".")) {
    const isList = raw.endsWith("[]");
    const key = isList ? raw.slice(0, -2) : raw;
    schema = unwrapSchema(schema!);
    schema = schema instanceof ZodObject ? (schema.shape as Record<string, z.ZodType>)[key] : undefined;
    if (!schema) return undefined;
    if (isList) {
      const list = unwrapSchema(schema);
      schema = list instanceof ZodArray ? (list.element as z.ZodType) : undefined;
    }
  }
  return schema;
}

function defaultAt(path: string): unknown {
  const schema = zodAt(path);
  if (!schema) return undefined;
  const result = schema.safeParse(undefined);
  return result.success ? result.data : undefined;
}

function rows(schema: JsonSchema, prefix: string, required: boolean, out: string[][]) {
  if (prefix && schema.default === undefined) schema = { ...schema, default: defaultAt(prefix) };
  const props = schema.properties;
  if (schema.type === "object" && props) {
    if (prefix) out.push([prefix, "object", required ? "required" : fmtDefault(schema.default)]);
    for (const [key, child] of Object.entries(props)) rows(child, prefix ? `${prefix}.${key}` : key, (schema.required ?? []).includes(key) && child.default === undefined, out);
    return;
  }
  if (schema.type === "array" && schema.items?.type === "object" && schema.items.properties) {
    out.push([prefix, "list of objects", required ? "required" : fmtDefault(schema.default)]);
    for (const [key, child] of Object.entries(schema.items.properties))
      rows(child, `${prefix}[].${key}`, (schema.items.required ?? []).includes(key) && child.default === undefined, out);
    return;
  }
  out.push([prefix, typeOf(schema), required ? "required" : fmtDefault(schema.default)]);
}

function fmtDefault(value: unknown): string {
  if (value === undefined) return "—";
  const text = JSON.stringify(value);
  return `\`${text.length > 70 ? `${text.slice(0, 67)}...` : text}\``;
}

export function configReferenceTable(): string {
  const json = zod().toJSONSchema(schemaModule().stackConfigSchema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const out: string[][] = [];
  rows(json, "", true, out);
  const lines = ["| key (`twinstack:`…) | type | default | required when | meaning | example |", "|---|---|---|---|---|---|"];
  const cell = (text: string) => text.replace(/\|/g, "\\|");
  for (const [key, type, def] of out) {
    const ref = keyReference(key);
    if (!ref) throw new Error(`stacks/reference.ts: no description for config key ${key}`);
    const meaning = `${cell(ref.description)}${ref.unit ? ` Unit: ${ref.unit}.` : ""}`;
    lines.push(`| \`${key}\` | ${type} | ${def} | ${ref.requiredWhen ? cell(ref.requiredWhen) : "—"} | ${meaning} | ${ref.example ? `\`${cell(ref.example)}\`` : "—"} |`);
  }
  return lines.join("\n");
}

const USAGE = "npm run config-reference";
export function main(argv: string[]): number {
  try {
    if (!parseCommandLine("config-reference", USAGE, argv, {})) {
      console.log(`usage: ${USAGE}\nPrints the README's config reference table (every twinstack: key) from the schema.\n  -h, --help   this help`);
      return 0;
    }
  } catch (err) {
    console.error((err as Error).message);
    return 1;
  }
  process.stdout.write(`${configReferenceTable()}\n`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
