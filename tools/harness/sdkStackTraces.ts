// The Pulumi SDK takes stack traces for bookkeeping, not for errors: one per promise it creates
// (node_modules/@pulumi/pulumi/runtime/debuggable.js, debuggablePromise: `new Error().stack`, read
// only to explain leaked promises) and one per resource at unlimited depth (resource.js,
// Resource.callsites: the source position sent to the engine). Capturing and formatting them was
// about half of the CPU of a 200-tenant plan (node --cpu-prof) and of the unit tests. The mocks
// harness sends the engine nothing, so while it evaluates a program:
// - Error.stackTraceLimit is 0 (the SDK's own promise traces are then empty), and
// - the SDK's position traces are not taken (Resource.stackTrace answers no frame, what it found
//   when they were formatted as a bare "Error": no source position is registered, which the harness
//   never reads; capturing the frames at unlimited depth alone was ~4% of a 1,000-tenant plan), and
// - the SDK's promise wrapper for its exit-time leak report (debuggable.js, debuggablePromise: three
//   defineProperty calls, an Error and a Set entry per promise, several promises per output property)
//   is replaced by the same `.then().catch()` chain without the bookkeeping: the same microtask hops,
//   so resources register in the same order (the 1,000-tenant plan JSON is byte-identical), for about
//   15% less CPU and 120 MiB less peak RSS at 1,000 tenants (node --heap snapshots: ~20 promises per
//   output property, all pending until the synchronous program has declared every resource).
// The real `pulumi up` never loads this file. TWINSTACK_STACK_TRACES=1 or TWINSTACK_DEBUG=1 keep
// full traces (slower), e.g. to see where an error inside the program comes from.
import * as path from "path";

const SDK_DIR = path.dirname(require.resolve("@pulumi/pulumi/package.json")) + path.sep;

/** The SDK module whose debuggablePromise wraps each promise (read at every call, `debuggable_1.debuggablePromise`). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const debuggable = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise: <T>(p: Promise<T>, ctx: unknown) => Promise<T> };
const passThrough = <T>(value: T): T => value;
/** debuggablePromise's chain (a `then` and a `catch` that names the promise on its error), without the leak bookkeeping. */
function plainPromise<T>(p: Promise<T>): Promise<T> {
  return p.then(passThrough).catch((err) => {
    if (err && typeof err === "object") (err as { promise?: unknown }).promise = p;
    throw err;
  });
}

/** The SDK's Resource class, whose static stackTrace(skip) each resource constructor calls (resource.js). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sdkResource = require("@pulumi/pulumi/resource").Resource as { stackTrace: (skip: number) => unknown[] };
const noFrames = (): unknown[] => [];

type Prepare = (err: Error, callSites: NodeJS.CallSite[]) => unknown;

/** True for the message-less `new Error()` the SDK creates in its own files to read a stack. */
function isSdkBookkeeping(err: Error, callSites: NodeJS.CallSite[]): boolean {
  if (err.message !== "" || Object.getPrototypeOf(err) !== Error.prototype) return false;
  const file = callSites[0]?.getFileName();
  return typeof file === "string" && file.startsWith(SDK_DIR);
}

/** V8's own text for a trace, for when nothing else formats them. */
function plainTrace(err: Error, callSites: NodeJS.CallSite[]): string {
  return [String(err), ...callSites.map((site) => `    at ${site}`)].join("\n");
}

/** Whether the caller asked for full stack traces everywhere. */
export function keepStackTraces(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.TWINSTACK_STACK_TRACES || env.TWINSTACK_DEBUG);
}

/**
 * Applies the settings above to this realm (only the formatter with `{ limit: false }`); returns
 * the function that undoes them (restoring the previous limit and formatter, e.g. source-map
 * support). Nested calls undo in reverse order.
 */
export function skipSdkStackTraces(opts: { limit?: boolean } = {}): () => void {
  if (keepStackTraces()) return () => {};
  const previous = Error.prepareStackTrace as Prepare | undefined;
  const previousLimit = Error.stackTraceLimit;
  const filter: Prepare = (err, callSites) => (isSdkBookkeeping(err, callSites) ? "Error" : previous ? previous(err, callSites) : plainTrace(err, callSites));
  Error.prepareStackTrace = filter as typeof Error.prepareStackTrace;
  const previousWrapper = debuggable.debuggablePromise;
  const previousStackTrace = sdkResource.stackTrace;
  if (opts.limit !== false) {
    Error.stackTraceLimit = 0;
    debuggable.debuggablePromise = plainPromise;
    sdkResource.stackTrace = noFrames;
  }
  return () => {
    if (Error.prepareStackTrace === (filter as unknown)) Error.prepareStackTrace = previous as typeof Error.prepareStackTrace;
    Error.stackTraceLimit = previousLimit;
    debuggable.debuggablePromise = previousWrapper;
    sdkResource.stackTrace = previousStackTrace;
  };
}
