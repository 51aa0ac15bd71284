// The sampler is its own package (tools/sampler/package.json, "@twinstack/sampler", with its own
// committed lockfile; issue 15): every module it loads at run time lies in tools/sampler/, and every
// package it imports is a node built-in or a `dependencies` entry of its package.json. Type-only
// imports are erased at run time and not followed, but the packages they name must be declared too
// (dependencies or devDependencies). Modelled on policy/test/dependencies.test.ts.
import { builtinModules } from "node:module";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const SAMPLER = path.resolve(__dirname, "..", "tools", "sampler");
const manifest = JSON.parse(fs.readFileSync(path.join(SAMPLER, "package.json"), "utf8"));
const lock = JSON.parse(fs.readFileSync(path.join(SAMPLER, "package-lock.json"), "utf8"));
const rootLock = JSON.parse(fs.readFileSync(path.resolve(__dirname, "..", "package-lock.json"), "utf8"));

interface Import {
  spec: string;
  typeOnly: boolean;
}

/** Imports of a TypeScript file: `import ... from`, `export ... from`, bare `import "x"`, `require("x")`. */
function imports(file: string): Import[] {
  const text = fs.readFileSync(file, "utf8");
  const found: Import[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?(?:[^;'"]*?\s+from\s+)?["']([^"']+)["']/gm)) found.push({ spec: m[3], typeOnly: !!m[2] });
  for (const m of text.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)) found.push({ spec: m[1], typeOnly: false });
  return found;
}

function resolveTs(from: string, spec: string): string {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [`${base}.ts`, path.join(base, "index.ts")]) if (fs.existsSync(candidate)) return candidate;
  throw new Error(`${from}: cannot find ${spec}`);
}

const packageName = (spec: string) => (spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]);
const isBuiltin = (p: string) => p.startsWith("node:") || builtinModules.includes(p);

/** Follows run-time relative imports from every .ts file of `root` (tools/sampler/). */
function walk(root: string): { seen: Set<string>; outside: string[]; runtime: Set<string>; typeOnly: Set<string> } {
  const seen = new Set<string>();
  const outside: string[] = [];
  const runtime = new Set<string>();
  const typeOnly = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const { spec, typeOnly: erased } of imports(file)) {
      if (spec.startsWith(".")) {
        const target = resolveTs(file, spec);
        if (!target.startsWith(root + path.sep)) outside.push(`${path.relative(root, file)} -> ${spec}`);
        else if (!erased) visit(target);
      } else if (!isBuiltin(spec)) {
        (erased ? typeOnly : runtime).add(packageName(spec));
      }
    }
  };
  for (const f of fs.readdirSync(root).filter((f) => f.endsWith(".ts"))) visit(path.join(root, f));
  return { seen, outside, runtime, typeOnly };
}

describe("the sampler package (tools/sampler/)", () => {
  it("loads only tools/sampler/ files and packages its package.json declares", () => {
    const { seen, outside, runtime, typeOnly } = walk(SAMPLER);
    expect(seen.size).toBeGreaterThanOrEqual(8);
    expect(outside).toEqual([]);
    const deps = new Set(Object.keys(manifest.dependencies ?? {}));
    const all = new Set([...deps, ...Object.keys(manifest.devDependencies ?? {})]);
    expect([...runtime].filter((p) => !deps.has(p))).toEqual([]);
    expect([...typeOnly].filter((p) => !all.has(p))).toEqual([]);
    // What it really uses: a dependency nobody imports is dead weight in its lockfile.
    expect([...deps].filter((p) => !runtime.has(p) && !typeOnly.has(p))).toEqual([]);
  });

  it("reports a file reaching outside the folder and the packages it imports (the walk can fail)", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sampler-walk-"));
    try {
      fs.mkdirSync(path.join(tmp, "pkg"));
      fs.writeFileSync(path.join(tmp, "outside.ts"), "export const x = 1;\n");
      fs.writeFileSync(path.join(tmp, "pkg", "bad.ts"), 'import { x } from "../outside";\nimport { y } from "left-pad";\nimport type { Z } from "some-types";\n');
      const { outside, runtime, typeOnly } = walk(path.join(tmp, "pkg"));
      expect(outside).toEqual(["bad.ts -> ../outside"]);
      expect([...runtime]).toEqual(["left-pad"]);
      expect([...typeOnly]).toEqual(["some-types"]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("has a committed lockfile matching its package.json, at the versions the root lockfile resolves", () => {
    expect(manifest.name).toBe("@twinstack/sampler");
    expect(manifest.private).toBe(true);
    expect(lock.packages[""].dependencies).toEqual(manifest.dependencies);
    expect(lock.packages[""].devDependencies ?? {}).toEqual(manifest.devDependencies ?? {});
    const differ = Object.entries(lock.packages as Record<string, { version: string }>)
      .filter(([k]) => k !== "")
      .filter(([k, v]) => rootLock.packages[k]?.version !== v.version)
      .map(([k, v]) => `${k}: ${v.version} here, ${rootLock.packages[k]?.version} in the root lockfile`);
    expect(differ).toEqual([]);
  });
});
