// The compiled tools' V8 code cache (tools/compileCache.ts): a second run compiles the modules it
// loads from the first run's cached data, a changed file is compiled from source again (also when its
// length is the same), and the plan prints exactly the same with the cache cold, warm and off.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ProcessResult, runPlanCliAsync, spawnAsync } from "../tools/planCli";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ensureBuilt, compiled, ROOT } = require("../tools/build.js") as { ensureBuilt(): string; compiled(rel: string): string; ROOT: string };

/** The cache's statistics after `node -e` loaded the compile cache, zod and `extra` (a module file). */
async function loadTwice(cacheDir: string, extra: string): Promise<{ hits: number; compiled: number; file: string; value: unknown }> {
  const script = `
    const { COMPILE_CACHE } = require(${JSON.stringify(compiled("tools/compileCache.ts"))});
    require("zod");
    const value = require(${JSON.stringify(extra)});
    console.log(JSON.stringify({ ...COMPILE_CACHE, value }));
  `;
  const r = await spawnAsync(process.execPath, ["-e", script], { cwd: ROOT, env: { ...process.env, TWINSTACK_COMPILE_CACHE_DIR: cacheDir } });
  if (r.status !== 0) throw new Error(`node -e failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

describe("compile cache of the compiled tools", () => {
  let cacheDir: string;
  let moduleDir: string;
  beforeAll(() => {
    ensureBuilt();
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-compile-cache-"));
    // Only modules under the project root are cached: the changing module lives there for this test.
    moduleDir = fs.mkdtempSync(path.join(ROOT, "node_modules", ".cache-test-compile-"));
  });
  afterAll(() => {
    fs.rmSync(cacheDir, { recursive: true, force: true });
    fs.rmSync(moduleDir, { recursive: true, force: true });
  });

  test("a second run compiles from the cache; a changed module of the same length is compiled from source", async () => {
    const extra = path.join(moduleDir, "answer.js");
    fs.writeFileSync(extra, "module.exports = 1;\n");
    const cold = await loadTwice(cacheDir, extra);
    expect(cold.hits).toBe(0);
    expect(cold.compiled).toBeGreaterThan(10); // zod's modules
    expect(cold.value).toBe(1);
    expect(path.dirname(cold.file)).toBe(cacheDir);
    expect(fs.existsSync(cold.file)).toBe(true);

    const warm = await loadTwice(cacheDir, extra);
    expect(warm).toEqual({ ...cold, hits: cold.compiled, compiled: 0 });

    fs.writeFileSync(extra, "module.exports = 2;\n"); // same length, new content
    const changed = await loadTwice(cacheDir, extra);
    expect(changed).toEqual({ ...cold, hits: cold.compiled - 1, compiled: 1, value: 2 });
  });

  test("the plan prints the same with the cache off, cold and warm", async () => {
    const planDir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-compile-cache-plan-"));
    try {
      const args = ["-s", "dev", "--json"];
      const env = { ...process.env, TWINSTACK_COMPILE_CACHE_DIR: planDir };
      const [off, cold] = await Promise.all([runPlanCliAsync(args, { ...process.env, TWINSTACK_COMPILE_CACHE: "0" }), runPlanCliAsync(args, env)]);
      expect(fs.readdirSync(planDir).filter((f) => f.endsWith(".bin"))).toHaveLength(1);
      const warm: ProcessResult = await runPlanCliAsync(args, env);
      expect(off.status).toBe(0);
      expect(JSON.parse(off.stdout).resources.length).toBeGreaterThan(10);
      for (const r of [cold, warm]) expect(r).toEqual(off);
    } finally {
      fs.rmSync(planDir, { recursive: true, force: true });
    }
  });
});
