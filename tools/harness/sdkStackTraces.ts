// The Pulumi SDK takes stack traces for bookkeeping, not for errors: one per promise it creates
// (node_modules/@pulumi/pulumi/runtime/debuggable.js, debuggablePromise: `new Error().stack`, read
// only to explain leaked promises) and one per resource at unlimited depth (resource.js,
// Resource.callsites: the source position sent to the engine). Capturing and formatting them was
// about half of the CPU of a 200-tenant plan (node --cpu-prof) and of the unit tests. The mocks
// harness sends the engine nothing, so while it evaluates a program:
// - Error.stackTraceLimit is 0 (the SDK's own promise traces are then empty), and
// - the SDK's position traces are formatted as a bare "Error" (Resource.stackTrace then finds no
//   frame and registers no source position, which the harness never reads).
// The real `pulumi up` never loads this file. TWINSTACK_STACK_TRACES=1 or TWINSTACK_DEBUG=1 keep
// full traces (slower), e.g. to see where an error inside the program comes from.
import * as path from "path";

const SDK_DIR = path.dirname(require.resolve("@pulumi/pulumi/package.json")) + path.sep;

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
 * Applies both settings to this realm's Error (only the formatter with `{ limit: false }`); returns
 * the function that undoes them (restoring the previous limit and formatter, e.g. source-map
 * support). Nested calls undo in reverse order.
 */
export function skipSdkStackTraces(opts: { limit?: boolean } = {}): () => void {
  if (keepStackTraces()) return () => {};
  const previous = Error.prepareStackTrace as Prepare | undefined;
  const previousLimit = Error.stackTraceLimit;
  const filter: Prepare = (err, callSites) =>
    isSdkBookkeeping(err, callSites) ? "Error" : previous ? previous(err, callSites) : plainTrace(err, callSites);
  Error.prepareStackTrace = filter as typeof Error.prepareStackTrace;
  if (opts.limit !== false) Error.stackTraceLimit = 0;
  return () => {
    if (Error.prepareStackTrace === (filter as unknown)) Error.prepareStackTrace = previous as typeof Error.prepareStackTrace;
    Error.stackTraceLimit = previousLimit;
  };
}
