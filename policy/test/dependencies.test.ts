// The pack depends on the model and its own declared dependencies only: every module the pack loads
// (from policy/index.ts, policies.ts and offline.ts, the stack-file reader policy/programConfig.ts
// included) lies in policy/ or model/, and every package it imports is a node built-in or declared
// in policy/package.json. Type-only imports are erased at run time and not followed.
import assert from "node:assert/strict";
import { builtinModules } from "node:module";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

const PACK = path.resolve(__dirname, "..");
const MODEL = path.resolve(PACK, "..", "model");
const ROOT = path.resolve(PACK, "..");
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"));
const manifest = readJson(path.join(PACK, "package.json"));
const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})]);

/** Run-time imports of a TypeScript file: `import ... from`, `export ... from`, bare `import "x"`, `require("x")`. */
function imports(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  const found: string[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?(?:[^;'"]*?\s+from\s+)?["']([^"']+)["']/gm)) if (!m[2]) found.push(m[3]);
  for (const m of text.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)) found.push(m[1]);
  return found;
}

function resolveTs(from: string, spec: string): string {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [`${base}.ts`, path.join(base, "index.ts")]) if (fs.existsSync(candidate)) return candidate;
  throw new Error(`${path.relative(PACK, from)}: cannot find ${spec}`);
}

/** What the pack loads: the files followed, and each package imported with the files importing it. */
function walk(): { seen: Set<string>; packages: Map<string, string[]>; outside: string[] } {
  const seen = new Set<string>();
  const packages = new Map<string, string[]>();
  const outside: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of imports(file)) {
      if (spec.startsWith(".")) {
        const target = resolveTs(file, spec);
        if (!target.startsWith(PACK + path.sep) && !target.startsWith(MODEL + path.sep)) outside.push(`${path.relative(PACK, file)} -> ${spec}`);
        else visit(target);
      } else {
        const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
        packages.set(name, [...(packages.get(name) ?? []), path.relative(ROOT, file)]);
      }
    }
  };
  for (const entry of ["index.ts", "policies.ts", "offline.ts"]) visit(path.join(PACK, entry));
  return { seen, packages, outside };
}

const isBuiltin = (name: string) => builtinModules.includes(name.replace(/^node:/, ""));

test("the pack, its stack-file reader included, loads only policy/ and model/ files and declared packages", () => {
  const { seen, packages, outside } = walk();
  // The stack-file reader and the model's schema and validation are part of what the pack loads.
  for (const file of ["programConfig.ts", "../model/config.ts", "../model/schema.ts", "../model/validate.ts"]) assert.ok(seen.has(path.join(PACK, file)), `follows ${file}`);
  assert.ok(seen.size > 10, `followed ${seen.size} files`);
  assert.deepEqual(outside, []);
  // Named with the files importing them, model/ ones included (e.g. "zod <- model/schema.ts").
  const undeclared = [...packages].filter(([name]) => !declared.has(name) && !isBuiltin(name)).map(([name, files]) => `${name} <- ${files.join(", ")}`);
  assert.deepEqual(undeclared, []);
});

// model/ lies outside policy/, so Node resolves the packages a model/ file imports (zod, yaml) from
// the repository's node_modules, not policy/node_modules: in a checkout (a package.json above policy/)
// the pack declares and locks each of them exactly as the program does, so what its tests load is
// what `pulumi preview --policy-pack policy` runs.
test("packages imported from model/ are declared and locked in policy/ as in the program's package.json", (t) => {
  if (!fs.existsSync(path.join(ROOT, "package.json"))) return t.skip("no program package.json above policy/ (a copy of the pack)");
  const root = readJson(path.join(ROOT, "package.json"));
  const rootLock = readJson(path.join(ROOT, "package-lock.json"));
  const packLock = readJson(path.join(PACK, "package-lock.json"));
  const fromModel = [...walk().packages].filter(([name, files]) => !isBuiltin(name) && files.some((f) => f.startsWith(`model${path.sep}`))).map(([name]) => name);
  assert.ok(fromModel.includes("zod") && fromModel.includes("yaml"), `model/ imports ${fromModel.join(", ")}`);
  const row = (name: string) => ({
    name,
    range: manifest.dependencies?.[name],
    locked: packLock.packages?.[`node_modules/${name}`]?.version,
  });
  const expected = (name: string) => ({
    name,
    range: root.dependencies?.[name],
    locked: rootLock.packages?.[`node_modules/${name}`]?.version,
  });
  assert.deepEqual(fromModel.map(row), fromModel.map(expected));
});
