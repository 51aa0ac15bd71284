// The plan's deferred SDK packages (tools/harness/deferSdkModules.ts): in a plain node process on
// the compiled code (as `npm run plan` runs), loading the SDK leaves typescript and
// @npmcli/arborist unloaded, function serialization still works (loading them at first use), and
// the plan declares exactly what it declares with them loaded eagerly.
import { spawnSync } from "child_process";
import * as path from "path";
import { runPlanCli } from "../tools/planCli";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ensureBuilt, compiled, ROOT } = require("../tools/build.js") as { ensureBuilt(): string; compiled(rel: string): string; ROOT: string };

/** Runs `script` in node from the project root; its JSON line on stdout. */
function nodeJson(script: string): Record<string, unknown> {
  const r = spawnSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`node -e failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

describe("deferred SDK packages", () => {
  beforeAll(() => ensureBuilt());

  test("loading the SDK after the stand-ins loads neither package; serializing a function loads them and works", () => {
    const deferModule = JSON.stringify(compiled("tools/harness/deferSdkModules.ts"));
    const out = nodeJson(`
      const { DEFERRED_AT_IMPORT, STAND_IN_ID } = require(${deferModule});
      const pulumi = require("@pulumi/pulumi");
      const sdkDir = require("path").dirname(require.resolve("@pulumi/pulumi"));
      const ids = () => ["typescript", "@npmcli/arborist"].map((n) => require.cache[require.resolve(n, { paths: [sdkDir] })]?.id === STAND_IN_ID);
      const pacote = () => Object.keys(require.cache).some((k) => k.includes("/pacote/"));
      const before = { standIns: ids(), pacote: pacote() };
      pulumi.runtime.serializeFunction(function answer() { return 42; })
        .then(async (s) => {
          const paths = await pulumi.runtime.computeCodePaths();
          console.log(JSON.stringify({ deferred: DEFERRED_AT_IMPORT, before, after: { standIns: ids(), pacote: pacote() }, text: s.text, codePaths: paths.size }));
        });
    `);
    expect(out.deferred).toEqual(["typescript", "@npmcli/arborist"]);
    expect(out.before).toEqual({ standIns: [true, true], pacote: false });
    // The SDK's serializer parsed the function with typescript and listed packages with arborist.
    expect(out.after).toEqual({ standIns: [false, false], pacote: true });
    expect(out.text).toContain("return 42");
    expect(out.codePaths).toBeGreaterThan(0);
  });

  test("too late once the SDK is loaded: nothing is replaced", () => {
    const out = nodeJson(`
      require("@pulumi/pulumi");
      const { DEFERRED_AT_IMPORT } = require(${JSON.stringify(compiled("tools/harness/deferSdkModules.ts"))});
      console.log(JSON.stringify({ deferred: DEFERRED_AT_IMPORT }));
    `);
    expect(out.deferred).toEqual([]);
  });

  test("the plan JSON is the same with the packages loaded eagerly (TWINSTACK_EAGER_SDK=1)", () => {
    const stackFile = path.join(ROOT, "examples/gigi/Pulumi.preview-feature-xyz.yaml");
    const args = ["-s", "preview-feature-xyz", "--config", stackFile, "--json"];
    const deferred = runPlanCli(args);
    const eager = runPlanCli(args, { ...process.env, TWINSTACK_EAGER_SDK: "1" });
    expect(deferred.status).toBe(0);
    expect(eager.status).toBe(0);
    expect(JSON.parse(deferred.stdout).resources.length).toBeGreaterThan(10);
    expect(deferred.stdout).toBe(eager.stdout);
  });
});
