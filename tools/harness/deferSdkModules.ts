// Start-up the offline plan does not need: `require("@pulumi/pulumi")` loads two large packages
// that only its function serialization uses (turning a JavaScript callback into code for a dynamic
// provider or a cloud function), which a plan of this program never does:
// - typescript (node_modules/@pulumi/pulumi/typescript-shim.js, required by runtime/closure/
//   parseFunction.js to parse a function's source): about 0.35 s of CPU to load, and
// - @npmcli/arborist (runtime/closure/codePaths.js, computeCodePaths: the node_modules a serialized
//   function needs), about 490 modules and 0.5 s of CPU (pacote, cacache, @npmcli/git, ...).
// Together they were about two thirds of the CPU `require("@pulumi/pulumi")` takes (node -e on this
// machine: 1.06 s for the SDK, 0.34 s typescript, 0.51 s arborist, each measured alone).
// - The Automation API (the SDK's automation/index.js, required by its index.js as
//   `__importStar(require("./automation"))` and by nothing else in the SDK or the providers), which
//   drives the Pulumi CLI from a program: about 80 modules (execa, normalize-package-data,
//   @logdna/tail-file, ...) and ~45 ms of CPU of the SDK's and providers' load (median of 5
//   interleaved node runs: 369 -> 321 ms).
// - zod's bundle of every language's messages (zod/v4/locales/index.cjs, 66 modules, ~75 ms of CPU),
//   required by zod's entry points as `__importStar(require("../locales/index.cjs"))` for z.locales;
//   the program's messages are English, from locales/en.cjs, which zod requires on its own. Not the
//   SDK's, but loaded by every plan through the model's schema (also for a refused stack file).
// - normalize-package-data (runtime/closure/codePaths.js, `__importDefault(require(...))`, called in
//   computeCodePaths only), whose load sorts spdx-correct's license-name transpositions and loads
//   hosted-git-info and spdx-*: ~70 ms of CPU per plan. Its export is a function: the stand-in is
//   callable (__importDefault wraps it as { default: stand-in }, and the call loads the package).
// - semver (runtime/rpc.js and closure/rewriteSuper.js, `__importStar(require("semver"))`, read only
//   inside functions a plan of this program does not reach: comparing resource packages' versions),
//   47 modules, and @opentelemetry/api (runtime/settings.js, tracing of the engine's gRPC calls,
//   `require(...)`, read inside functions), 44 modules.
// - yaml (the `yaml` package, 72 modules, ~100 ms of CPU to load): this project's own renderers
//   (components/render: cloud-init, Prometheus, Patroni, ...) and model/stackFile.ts (texts js-yaml
//   is not given) import it, but a plan of most stacks never calls it (the default prod and dev
//   stacks, and every stack file the preflight refuses); it is imported as `_interop_require_default`
//   or `__importDefault(require("yaml"))`, which wrap a module without `__esModule` (yaml's own CJS
//   entry has none) as { default: module }: the stand-in answers undefined, as the package does.
// - gRPC: @grpc/grpc-js (65 modules, ~90 ms of CPU to load) and the SDK's generated clients
//   (proto/{engine,resource,callback,provider}_grpc_pb.js, which call grpc.makeGenericClientConstructor
//   as they load, and so would load grpc-js with them). The SDK's runtime requires them as it loads
//   (errors.js, runtime/settings.js, resource.js, invoke.js, callbacks.js, provider/server.js, each
//   `__importStar(require(...))`) and reads them only inside functions: to connect to a real engine
//   (a plan talks to the SDK's mock monitor) and to read a failed call's status code. Both answer
//   `__esModule` true (grpc-js has its own; the generated files have none, so __importStar takes
//   the stand-in as is). `plan -s dev`: 0.91 -> 0.78 s of CPU (medians of 7 interleaved runs).
// Each is replaced, before the SDK loads, by a stand-in module whose exports load the real package
// at first use and then forward to it, so nothing behaves differently if something does use them:
// only the load moves from start-up to first use. The SDK reads them only inside functions, except
// for the one property its import helpers look at, `__esModule`, which the stand-in answers
// without loading: typescript is taken as `const ts = require(...)` (no helper: undefined, as the
// package's own), @npmcli/arborist through `__importStar(require(...))` (codePaths.js), which
// copies every property of a module without `__esModule` (a load) and passes one with it through
// unchanged: the stand-in says true, and codePaths reads `arborist.Arborist`, forwarded as is.
// Importing this module installs the stand-ins (the plan's command line, tools/plan.ts, imports it
// first); the real `pulumi up` never loads it.
// TWINSTACK_EAGER_SDK=1 turns it off (to compare).
import Module from "module";
import * as path from "path";

/**
 * Modules deferred, with what `__esModule` answers before the load: packages resolved from the SDK's
 * own directory (where its `require` finds them), or a file of the SDK itself (`sdkFile`).
 */
const DEFERRED: { name: string; esModule: true | undefined; sdkFile?: string; file?: () => string; callable?: true }[] = [
  { name: "typescript", esModule: undefined },
  { name: "@npmcli/arborist", esModule: true },
  { name: "@pulumi/pulumi/automation", esModule: true, sdkFile: "automation/index.js" },
  { name: "zod/v4/locales", esModule: true, file: () => require.resolve(path.join(path.dirname(require.resolve("zod")), "v4", "locales", "index.cjs")) },
  { name: "normalize-package-data", esModule: undefined, callable: true },
  { name: "semver", esModule: true },
  { name: "@opentelemetry/api", esModule: true },
  { name: "yaml", esModule: undefined, file: () => require.resolve("yaml") },
  { name: "@grpc/grpc-js", esModule: true },
  { name: "@pulumi/pulumi/proto/engine_grpc_pb", esModule: true, sdkFile: "proto/engine_grpc_pb.js" },
  { name: "@pulumi/pulumi/proto/resource_grpc_pb", esModule: true, sdkFile: "proto/resource_grpc_pb.js" },
  { name: "@pulumi/pulumi/proto/callback_grpc_pb", esModule: true, sdkFile: "proto/callback_grpc_pb.js" },
  { name: "@pulumi/pulumi/proto/provider_grpc_pb", esModule: true, sdkFile: "proto/provider_grpc_pb.js" },
];

/** The id of a stand-in module in require.cache (tests look for it). */
export const STAND_IN_ID = "twinstack:deferred";

type CachedModule = { exports: unknown; loaded: boolean; id: string; filename: string };

/**
 * A stand-in for the module at `file`: loads it at the first access to its exports (or, when
 * `callable`, at the first call: the module exports a function).
 */
function lazyExports(file: string, esModule: true | undefined, callable?: true): object {
  let real: Record<PropertyKey, unknown> | undefined;
  const load = () => {
    if (real === undefined) {
      const cache = require.cache as Record<string, CachedModule | undefined>;
      delete cache[file]; // this stand-in: let node load the real module into its place
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      real = require(file) as Record<PropertyKey, unknown>;
    }
    return real;
  };
  // An arrow function has no own non-configurable property (no `prototype`) the proxy would have to report.
  const target = callable ? () => undefined : {};
  return new Proxy(target, {
    apply: (_t, self, args) => Reflect.apply(load() as unknown as (...a: unknown[]) => unknown, self, args),
    get: (_t, key) => (key === "__esModule" && real === undefined ? esModule : Reflect.get(load(), key)),
    has: (_t, key) => Reflect.has(load(), key),
    set: (_t, key, value) => Reflect.set(load(), key, value),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_t, key) => {
      const d = Reflect.getOwnPropertyDescriptor(load(), key);
      // The target has no non-configurable property: a proxy may not report one as configurable that it lacks.
      return d && { ...d, configurable: true };
    },
    defineProperty: (_t, key, d) => Reflect.defineProperty(load(), key, d),
    deleteProperty: (_t, key) => Reflect.deleteProperty(load(), key),
  });
}

/** Installs the stand-ins unless the SDK is already loaded (then it is too late, and harmless). */
export function deferUnusedSdkModules(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.TWINSTACK_EAGER_SDK) return [];
  const cache = require.cache as Record<string, CachedModule | undefined>;
  const sdkEntry = require.resolve("@pulumi/pulumi");
  if (cache[sdkEntry]) return [];
  const deferred: string[] = [];
  for (const { name, esModule, sdkFile, file: fileOf, callable } of DEFERRED) {
    let file: string;
    try {
      file = fileOf ? fileOf() : sdkFile ? require.resolve(path.join(path.dirname(sdkEntry), sdkFile)) : require.resolve(name, { paths: [path.dirname(sdkEntry)] });
    } catch {
      continue; // not installed where the SDK looks: the SDK has its own fallback
    }
    if (cache[file]) continue;
    const stand = new Module(STAND_IN_ID) as unknown as CachedModule;
    stand.filename = file;
    stand.loaded = true;
    stand.exports = lazyExports(file, esModule, callable);
    cache[file] = stand;
    deferred.push(name);
  }
  return deferred;
}

/** What importing this module deferred (empty when the SDK was already loaded). */
export const DEFERRED_AT_IMPORT = deferUnusedSdkModules();
