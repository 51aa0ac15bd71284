// The import-boundary rule of eslint.config.js (docs/ARCHITECTURE.md) on small sources at the paths
// they would have: it fails on a component importing stacks/, on product code importing tests/, on
// the model or the policy pack importing stacks/ at all, and lets the allowed directions through.
// ESLint runs in a child node process, as `npm run lint` runs it: it import()s its config, which
// jest's module sandbox does not allow.
import { execFileSync } from "child_process";
import * as path from "path";

const ROOT = path.join(__dirname, "..");
jest.setTimeout(120_000);

const LINT = `
const { ESLint } = require("eslint");
const path = require("path");
const cases = JSON.parse(process.argv[1]);
(async () => {
  const eslint = new ESLint({ cwd: process.cwd() });
  const out = [];
  for (const [file, source] of cases) {
    const [result] = await eslint.lintText(source, { filePath: path.join(process.cwd(), file) });
    out.push(result.messages.filter((m) => m.ruleId === "@typescript-eslint/no-restricted-imports" || m.ruleId === "no-restricted-syntax").map((m) => m.message));
  }
  process.stdout.write(JSON.stringify(out));
})().catch((err) => { console.error(err); process.exit(1); });
`;

const TESTS = 'import { one } from "../tests/harness";\nvoid one;\n';
const TYPE_ONLY = 'import type { StackConfig } from "../stacks/config";\nexport type X = StackConfig;\n';
const RUNTIME = 'import { parseStackConfig } from "../stacks/config";\nvoid parseStackConfig;\n';
const cases: [string, string][] = [
  /* 0 */ ["components/example.ts", 'import { StackConfig } from "../stacks/config";\nexport type X = StackConfig;\n'],
  /* 1 */ ["components/example.ts", TESTS],
  /* 2 */ ["stacks/example.ts", TESTS],
  /* 3 */ ["tools/example.ts", TESTS],
  /* 4 */ ["model/example.ts", TESTS],
  /* 5 */ ["policy/example.ts", TESTS],
  /* 6 */ ["model/example.ts", TYPE_ONLY],
  /* 7 */ ["policy/example.ts", TYPE_ONLY],
  /* 8 */ ["model/example.ts", RUNTIME],
  /* 9 */ ["policy/example.ts", RUNTIME],
  /* 10 */ ["policy/programConfig.ts", RUNTIME],
  /* 11 */ ["policy/example.ts", 'import { workload } from "../components/workload";\nvoid workload;\n'],
  /* 12 */ ["stacks/example.ts", 'import { previewSlug } from "../model/slug";\nimport { PreviewEnv } from "../components/previewEnv";\nvoid previewSlug; void PreviewEnv;\n'],
  /* 13 */ ["tools/example.ts", 'import { runStack } from "../stacks";\nvoid runStack;\n'],
  /* 14 */ ["tests/example.test.ts", 'import { runStack } from "../stacks";\nimport { one } from "./harness";\nvoid runStack; void one;\n'],
  /* 15 */ [
    "policy/programConfig.ts",
    'import { parseStackConfig } from "../model/config";\nimport { readStackConfig } from "../model/stackFile";\nvoid parseStackConfig; void readStackConfig;\n',
  ],
  /* 16 */ ["policy/example.ts", 'import type { StackConfig } from "../model/schema";\nexport type X = StackConfig;\n'],
  /* 17 */ ["components/example.ts", 'import * as docker from "@pulumi/docker";\nnew docker.Container("c", { image: "x" });\n'],
  /* 18 */ ["components/example.ts", 'import * as d from "@pulumi/docker";\nnew d.Service("s", {});\n'],
  /* 19 */ ["stacks/example.ts", 'import { Container } from "@pulumi/docker";\nnew Container("c", { image: "x" });\n'],
  /* 20 */ ["components/workload.ts", 'import * as docker from "@pulumi/docker";\nnew docker.Container("c", { image: "x" });\nnew docker.Service("s", {});\n'],
  /* 21 */ ["components/example.ts", 'import * as docker from "@pulumi/docker";\nnew docker.Volume("v", {});\nnew docker.Network("n", {});\n'],
  /* 22 */ ["tools/sampler/example.ts", 'import { fromCaller } from "../cli";\nvoid fromCaller;\n'],
  /* 23 */ ["tools/sampler/example.ts", 'import type { StackConfig } from "../../model/schema";\nexport type X = StackConfig;\n'],
  /* 24 */ ["tools/sampler/example.ts", TESTS.replace("../tests", "../../tests")],
  /* 25 */ ["tools/sampler/example.ts", 'import { parseConfig } from "./config";\nimport { Client } from "pg";\nvoid parseConfig; void Client;\n'],
  /* 26 */ ["tools/example.ts", 'import { runSample } from "./sampler/run";\nvoid runSample;\n'],
];

let results: string[][];
beforeAll(() => {
  results = JSON.parse(execFileSync(process.execPath, ["-e", LINT, JSON.stringify(cases)], { cwd: ROOT, encoding: "utf8" }));
});

describe("import boundaries", () => {
  it("refuses a component importing stacks/ or tests/", () => {
    expect(results[0]).toEqual([expect.stringContaining("never read stack config")]);
    expect(results[1]).toEqual([expect.stringContaining("product code never imports tests/")]);
  });

  it("refuses product code (stacks/, tools/, model/, policy/) importing tests/", () => {
    for (const i of [2, 3, 4, 5]) expect({ file: cases[i][0], errors: results[i] }).toEqual({ file: cases[i][0], errors: [expect.stringContaining("never imports tests/")] });
  });

  it("refuses the model and the pack any import of stacks/ (even a type), and the pack any component", () => {
    for (const i of [6, 7, 8, 9, 10]) expect({ file: cases[i][0], errors: results[i].length }).toEqual({ file: cases[i][0], errors: 1 });
    expect(results[11]).toEqual([expect.stringContaining("do not depend on components/")]);
  });

  it("lets the pack read stack files with the model's schema and validation", () => {
    expect([results[15], results[16]]).toEqual([[], []]);
  });

  it("lets stacks/ import components/ and the model, tools/ import stacks/, and tests import anything", () => {
    expect([results[12], results[13], results[14]]).toEqual([[], [], []]);
  });
});

describe("the sampler package (tools/sampler/)", () => {
  it("refuses any import leaving tools/sampler/ (tools/, the model, tests/), even a type", () => {
    for (const i of [22, 23, 24])
      expect({ source: cases[i][1], errors: results[i] }).toEqual({ source: cases[i][1], errors: [expect.stringContaining("the sampler is its own package")] });
  });

  it("lets it import its own files and packages, and tools/ import the sampler", () => {
    expect([results[25], results[26]]).toEqual([[], []]);
  });
});

describe("one workload helper", () => {
  it("refuses a container or Swarm service declared outside components/workload.ts", () => {
    expect(results[17]).toEqual([expect.stringContaining("declareWorkload")]);
    expect(results[18]).toEqual([expect.stringContaining("declareWorkload")]);
    // The named import is refused (the `new Container` it enables is a plain identifier).
    expect(results[19]).toEqual([expect.stringContaining("declareWorkload")]);
  });

  it("lets the helper itself declare them, and other components declare other docker resources", () => {
    expect([results[20], results[21]]).toEqual([[], []]);
  });
});
