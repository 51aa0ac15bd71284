// The public surface is documented (issue 15, docs/CONTRIBUTING.md): every exported symbol of the
// component modules (components/, components/instance/, components/render/), the model and the
// policy pack carries a `/** */` comment, and so does every property of an exported `XArgs`
// interface. Walks the syntax trees with the TypeScript compiler API, so a new undocumented
// export fails here with its file and name.
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "..");

/** Folders whose `.ts` files (not recursive) are public modules. */
const PUBLIC_DIRS = ["components", "components/instance", "components/render", "model", "policy"];

/** Files that only wire things up (no exports of their own) or are not part of the surface. */
const SKIP = new Set(["policy/index.ts"]);

function publicFiles(): string[] {
  return PUBLIC_DIRS.flatMap((dir) =>
    fs
      .readdirSync(path.join(ROOT, dir))
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
      .map((f) => `${dir}/${f}`)
      .filter((f) => !SKIP.has(f)),
  ).sort();
}

function hasJsDoc(node: ts.Node): boolean {
  return ts.getJSDocCommentsAndTags(node).some((d) => ts.isJSDoc(d));
}

function isExported(node: ts.Node): boolean {
  return (ts.getCombinedModifierFlags(node as ts.Declaration) & ts.ModifierFlags.Export) !== 0;
}

/** `file: name` (or `file: Args.prop`) of every exported declaration without a JSDoc comment. */
function undocumented(rel: string, text = fs.readFileSync(path.join(ROOT, rel), "utf8")): string[] {
  const sf = ts.createSourceFile(rel, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const missing: string[] = [];
  const seenFunctions = new Set<string>();
  for (const st of sf.statements) {
    if (ts.isVariableStatement(st)) {
      if (!isExported(st)) continue;
      for (const d of st.declarationList.declarations) {
        if (!hasJsDoc(d)) missing.push(`${rel}: ${d.name.getText(sf)}`);
      }
      continue;
    }
    if (ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st) || ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st) || ts.isEnumDeclaration(st)) {
      if (!isExported(st) || !st.name) continue;
      const name = st.name.text;
      // An overloaded function is documented once, on its first signature.
      if (ts.isFunctionDeclaration(st)) {
        if (seenFunctions.has(name)) continue;
        seenFunctions.add(name);
      }
      if (!hasJsDoc(st)) missing.push(`${rel}: ${name}`);
      if (ts.isInterfaceDeclaration(st) && name.endsWith("Args")) {
        for (const m of st.members) {
          if (ts.isPropertySignature(m) && !hasJsDoc(m)) missing.push(`${rel}: ${name}.${m.name.getText(sf)}`);
        }
      }
    }
    // `export { a } from "./x"` and `export { a }` re-export symbols documented where they are defined.
  }
  return missing;
}

describe("public surface", () => {
  it("finds an undocumented export and an undocumented Args property (the walker can fail)", () => {
    const text = [
      "/** Documented. */",
      "export const a = 1;",
      "export const b = 2;",
      "/** Documented. */",
      "export interface FooArgs {",
      "  /** Seconds. */",
      "  ok: number;",
      "  bare: string;",
      "}",
      "export function f(): void {}",
      "/** Documented once, on the first overload. */",
      "export function g(x: string): string;",
      "export function g(x: number): number;",
      "export function g(x: unknown): unknown {",
      "  return x;",
      "}",
      "const hidden = 3;",
    ].join("\n");
    expect(undocumented("x.ts", text)).toEqual(["x.ts: b", "x.ts: FooArgs.bare", "x.ts: f"]);
  });

  it.each(publicFiles())("%s documents every export", (rel) => {
    expect(undocumented(rel)).toEqual([]);
  });
});
