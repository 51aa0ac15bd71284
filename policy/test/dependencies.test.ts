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
const manifest = JSON.parse(fs.readFileSync(path.join(PACK, "package.json"), "utf8"));
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

test("the pack, its stack-file reader included, loads only policy/ and model/ files and declared packages", () => {
  const seen = new Set<string>();
  const packages = new Set<string>();
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
        packages.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]);
      }
    }
  };
  for (const entry of ["index.ts", "policies.ts", "offline.ts"]) visit(path.join(PACK, entry));
  // The stack-file reader and the model's schema and validation are part of what the pack loads.
  for (const file of ["programConfig.ts", "../model/config.ts", "../model/schema.ts", "../model/validate.ts"]) assert.ok(seen.has(path.join(PACK, file)), `follows ${file}`);
  assert.ok(seen.size > 10, `followed ${seen.size} files`);
  assert.deepEqual(outside, []);
  const undeclared = [...packages].filter((p) => !declared.has(p) && !builtinModules.includes(p.replace(/^node:/, "")));
  assert.deepEqual(undeclared, []);
});
