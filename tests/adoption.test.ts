// Issue 16: what a newcomer meets first, through the real entry points (the plan CLI as a process).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runPlanCli } from "../tools/planCli";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-adoption-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeStack(name: string, yaml: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, yaml);
  return file;
}

describe("compose habits", () => {
  test("LOG_LEVEL: 3 (a number where a string is expected) says to quote it, on one line", () => {
    const file = writeStack(
      "Pulumi.dev.yaml",
      ["config:", "  twinstack:env: dev", "  twinstack:app:", "    name: shop", "    image: shop:dev-latest", "    env:", "      LOG_LEVEL: 3", "      DEBUG: true", ""].join("\n"),
    );
    const run = runPlanCli(["-s", "dev", "--config", file]);
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split("\n");
    expect(lines).toEqual([
      expect.stringMatching(/Pulumi\.dev\.yaml: twinstack:app\.env\.LOG_LEVEL: expected a string, got 3 \(YAML reads 3 unquoted as a number: quote it, "3"\)$/),
      expect.stringMatching(/twinstack:app\.env\.DEBUG: expected a string, got true \(YAML reads true unquoted as a boolean: quote it, "true"\)$/),
    ]);
  });
});
