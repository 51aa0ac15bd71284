// The plan's deferred SDK packages (tools/harness/deferSdkModules.ts): in a plain node process on
// the compiled code (as `npm run plan` runs), loading the SDK leaves typescript and
// @npmcli/arborist unloaded, function serialization still works (loading them at first use), and
// the plan declares exactly what it declares with them loaded eagerly.
import * as path from "path";
import { ProcessResult, runPlanCliAsync, spawnAsync } from "../tools/planCli";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ensureBuilt, compiled, ROOT } = require("../tools/build.js") as { ensureBuilt(): string; compiled(rel: string): string; ROOT: string };

/** Runs `script` in node from the project root; its JSON line on stdout. */
async function nodeJson(script: string): Promise<Record<string, unknown>> {
  const r = await spawnAsync(process.execPath, ["-e", script], { cwd: ROOT });
  if (r.status !== 0) throw new Error(`node -e failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

const deferModule = () => JSON.stringify(compiled("tools/harness/deferSdkModules.ts"));
const serializeScript = () => `
      const { DEFERRED_AT_IMPORT, STAND_IN_ID } = require(${deferModule()});
      const pulumi = require("@pulumi/pulumi");
      const sdkDir = require("path").dirname(require.resolve("@pulumi/pulumi"));
      // gRPC: @grpc/grpc-js and the SDK's generated clients, loaded by the first use of a client (the Automation API's,
      // used below, loads grpc-js too: measured before).
      const grpcFiles = [require.resolve("@grpc/grpc-js", { paths: [sdkDir] }), ...["engine", "resource", "callback", "provider"].map((n) => require("path").join(sdkDir, "proto", n + "_grpc_pb.js"))];
      const grpcState = () => ({ standIns: grpcFiles.map((f) => require.cache[f]?.id === STAND_IN_ID), grpcJs: Object.entries(require.cache).some(([k, m]) => k.includes("/@grpc/grpc-js/build/") && m.id !== STAND_IN_ID) });
      const grpcBefore = grpcState();
      const more = ["normalize-package-data", "semver", "@opentelemetry/api", "yaml"];
      const moreIds = () => more.map((n) => require.cache[require.resolve(n, { paths: [sdkDir] })]?.id === STAND_IN_ID);
      const moreBefore = moreIds();
      // What the SDK's and the project's imports see before the load (__importStar/__importDefault read __esModule).
      const esModule = more.map((n) => require(require.resolve(n, { paths: [sdkDir] })).__esModule);
      const moreBeforeUse = moreIds();
      const ids = () => ["typescript", "@npmcli/arborist"].map((n) => require.cache[require.resolve(n, { paths: [sdkDir] })]?.id === STAND_IN_ID);
      const automationFile = require("path").join(sdkDir, "automation", "index.js");
      const automation = () => ({ standIn: require.cache[automationFile]?.id === STAND_IN_ID, execa: Object.keys(require.cache).some((k) => k.includes("/execa/")) });
      const automationBefore = automation();
      const localWorkspace = typeof pulumi.automation.LocalWorkspace;
      const localesFile = require("path").join(require("path").dirname(require.resolve("zod")), "v4", "locales", "index.cjs");
      const { z } = require("zod");
      const zodMessage = z.number().safeParse("x").error.issues[0].message;
      const localesBefore = require.cache[localesFile]?.id === STAND_IN_ID;
      const germanLocale = typeof z.locales.de;
      const zod = { localesBefore, localesAfter: require.cache[localesFile]?.id === STAND_IN_ID, zodMessage, germanLocale };
      const pacote = () => Object.keys(require.cache).some((k) => k.includes("/pacote/"));
      const semverGt = require(require.resolve("semver", { paths: [sdkDir] })).gt("1.10.0", "1.9.0");
      const yamlValue = require("yaml").parse("a: [1, x]");
      const otelContext = typeof require(require.resolve("@opentelemetry/api", { paths: [sdkDir] })).context.active;
      const moreUsed = { esModule, moreBeforeUse, semverGt, yamlValue, otelContext, afterUse: moreIds() };
      const resrpc = require(grpcFiles[2]);
      const grpcJs = require(grpcFiles[0]);
      const monitor = new resrpc.ResourceMonitorClient("127.0.0.1:1", grpcJs.credentials.createInsecure());
      const grpcUsed = { client: typeof monitor.registerResource, unavailable: grpcJs.status.UNAVAILABLE };
      monitor.close();
      const grpc = { before: grpcBefore, used: grpcUsed, after: grpcState() };
      const before = { standIns: ids(), pacote: pacote() };
      pulumi.runtime.serializeFunction(function answer() { return 42; })
        .then(async (s) => {
          const paths = await pulumi.runtime.computeCodePaths();
          console.log(JSON.stringify({ deferred: DEFERRED_AT_IMPORT, before, after: { standIns: ids(), pacote: pacote() }, text: s.text, codePaths: paths.size, automationBefore, automationAfter: automation(), localWorkspace, zod, moreBefore, moreUsed, moreAfter: moreIds(), grpc }));
        });
    `;
const tooLateScript = () => `
      require("@pulumi/pulumi");
      const { DEFERRED_AT_IMPORT } = require(${deferModule()});
      console.log(JSON.stringify({ deferred: DEFERRED_AT_IMPORT }));
    `;
const planArgs = ["-s", "preview-feature-xyz", "--config", path.join(ROOT, "examples/gigi/Pulumi.preview-feature-xyz.yaml"), "--json"];

// The suite's four processes do not depend on each other: they start together before the tests
// (beforeAll), and each test awaits its own.
let serialized: Promise<Record<string, unknown>>;
let tooLate: Promise<Record<string, unknown>>;
let plans: Promise<[ProcessResult, ProcessResult]>;

describe("deferred SDK packages", () => {
  beforeAll(() => {
    ensureBuilt();
    plans = Promise.all([runPlanCliAsync(planArgs), runPlanCliAsync(planArgs, { ...process.env, TWINSTACK_EAGER_SDK: "1" })]);
    serialized = nodeJson(serializeScript());
    tooLate = nodeJson(tooLateScript());
    for (const p of [plans, serialized, tooLate]) p.catch(() => undefined); // reported by the test that awaits it
  });
  afterAll(() => Promise.allSettled([plans, serialized, tooLate]));

  test("loading the SDK after the stand-ins loads neither package; serializing a function loads them and works", async () => {
    const out = await serialized;
    expect(out.deferred).toEqual([
      "typescript",
      "@npmcli/arborist",
      "@pulumi/pulumi/automation",
      "zod/v4/locales",
      "normalize-package-data",
      "semver",
      "@opentelemetry/api",
      "yaml",
      "@grpc/grpc-js",
      "@pulumi/pulumi/proto/engine_grpc_pb",
      "@pulumi/pulumi/proto/resource_grpc_pb",
      "@pulumi/pulumi/proto/callback_grpc_pb",
      "@pulumi/pulumi/proto/provider_grpc_pb",
    ]);
    expect(out.before).toEqual({ standIns: [true, true], pacote: false });
    // The SDK's serializer parsed the function with typescript and listed packages with arborist.
    expect(out.after).toEqual({ standIns: [false, false], pacote: true });
    expect(out.text).toContain("return 42");
    expect(out.codePaths).toBeGreaterThan(0);
  });

  test("the Automation API loads at its first use, not with the SDK, and works", async () => {
    const out = await serialized;
    expect(out.automationBefore).toEqual({ standIn: true, execa: false });
    expect(out.localWorkspace).toBe("function");
    expect(out.automationAfter).toEqual({ standIn: false, execa: true });
  });

  test("zod's bundle of every language's messages loads at first use; zod's own messages stay English", async () => {
    const out = await serialized;
    expect(out.zod).toEqual({ localesBefore: true, localesAfter: false, zodMessage: "Invalid input: expected number, received string", germanLocale: "function" });
  });

  test("normalize-package-data, semver, @opentelemetry/api and yaml load at first use, not with the SDK, and work", async () => {
    const out = await serialized;
    // Loading the SDK left all four as stand-ins (the Automation API, at its first use below, uses semver).
    expect(out.moreBefore).toEqual([true, true, true, true]);
    // __esModule (JSON: undefined as null) as __importDefault/__importStar need it, and reading it loads nothing:
    // normalize-package-data and yaml have none (wrapped as { default }), @opentelemetry/api has its own, and
    // semver's stand-in says true so that the SDK's __importStar takes it as is instead of copying (loading) it.
    const used = out.moreUsed as Record<string, unknown>;
    expect(used.esModule).toEqual([null, true, true, null]);
    expect(used.moreBeforeUse).toEqual([true, true, true, true]);
    expect(used.semverGt).toBe(true);
    expect(used.yamlValue).toEqual({ a: [1, "x"] });
    expect(used.otelContext).toBe("function");
    // The first use loaded semver, @opentelemetry/api and yaml in their stand-ins' place; normalize-package-data
    // (a function) was loaded by its first call, computeCodePaths' package.json normalization.
    expect(used.afterUse).toEqual([true, false, false, false]);
    expect(out.moreAfter).toEqual([false, false, false, false]);
  });

  test("@grpc/grpc-js and the SDK's generated gRPC clients load at first use, not with the SDK, and work", async () => {
    const out = await serialized;
    const grpc = out.grpc as Record<string, unknown>;
    // Loading the SDK (and serializing a function) left gRPC unloaded: five stand-ins, no module of grpc-js.
    expect(grpc.before).toEqual({ standIns: [true, true, true, true, true], grpcJs: false });
    // A resource monitor client is made (no call: nothing connects) with grpc-js's credentials.
    expect(grpc.used).toEqual({ client: "function", unavailable: 14 });
    // Its use loaded grpc-js (in its stand-in's place) and the resource clients; engine, callback and provider stay deferred.
    expect(grpc.after).toEqual({ standIns: [false, true, false, true, true], grpcJs: true });
  });

  test("too late once the SDK is loaded: nothing is replaced", async () => {
    const out = await tooLate;
    expect(out.deferred).toEqual([]);
  });

  test("the plan JSON is the same with the packages loaded eagerly (TWINSTACK_EAGER_SDK=1)", async () => {
    const [deferred, eager] = await plans;
    expect(deferred.status).toBe(0);
    expect(eager.status).toBe(0);
    expect(JSON.parse(deferred.stdout).resources.length).toBeGreaterThan(10);
    expect(deferred.stdout).toBe(eager.stdout);
  });
});
