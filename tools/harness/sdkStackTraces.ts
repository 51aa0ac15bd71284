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

/** The SDK's module whose transferProperties each custom resource's registration calls (`rpc_1.transferProperties`, read at every call). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sdkRpc = require("@pulumi/pulumi/runtime/rpc") as { transferProperties: (onto: object, label: string, props: Record<string, unknown>) => Record<string, Resolver> };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Output: SdkOutput } = require("@pulumi/pulumi/output") as { Output: new (resources: unknown, ...promises: Promise<unknown>[]) => unknown };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sdkErrors = require("@pulumi/pulumi/errors") as { isGrpcError: (err: unknown) => boolean };
type Resolver = (v: unknown, isKnown: boolean, isSecret: boolean, deps?: unknown[], err?: Error) => void;

/** A settled promise: `.then` on it queues its callback as the next microtask. */
const SETTLED = Promise.resolve();
/** Runs `run` two microtasks from now, where a job queued now and the job that one queues would run. */
function inTwoTurns(run: () => void): void {
  void SETTLED.then(() => {
    void SETTLED.then(run);
  });
}

/**
 * rpc.js transferProperties (an unresolved Output per input and output property of a custom
 * resource, resolved when its registration answers), statement for statement, except that
 * - it builds none of the four description strings per property that debuggablePromise takes
 *   (`transferProperty(<label>, <key>, <the value's text>)`, `${value}` of each input), which
 *   plainPromise never reads, and
 * - the four promises an Output gets are settled by the resolver two microtasks after it is called,
 *   where plainPromise's chain over the SDK's promise (its `then`, then its `catch`) would settle
 *   them, instead of each being the end of such a chain: one promise each instead of three, and
 *   two reactions per property queued when the registration answers instead of eight pending from
 *   the start. About 11 properties per resource of a 200-tenant plan, pending until the
 *   registrations of its batch answer (and copied by every scavenge meanwhile).
 * The same microtasks run in the same order after the resolver is called (the chain's four `then`
 * jobs were queued together, as were the four `catch` jobs they queued; here one job stands at each
 * of those places and settles the four promises in the same order), so resources register in the
 * same order and every plan prints the same. Errors carry `promise` as the chain's `catch` set it
 * (here the promise the Output holds). Resolving with a value that is itself a promise would follow
 * it after the two turns instead of before; a registration resolves outputs with deserialized data.
 */
function plainTransferProperties(onto: object, label: string, props: Record<string, unknown>): Record<string, Resolver> {
  const resolvers: Record<string, Resolver> = {};
  for (const k of Object.keys(props)) {
    if (k === "id" || k === "urn") continue;
    if (Object.prototype.hasOwnProperty.call(onto, k)) throw new Error(`Property '${k}' is already initialized on target '${label}`);
    let resolveValue!: (v: unknown) => void, rejectValue!: (e: unknown) => void;
    let resolveIsKnown!: (v: boolean) => void, rejectIsKnown!: (e: unknown) => void;
    let resolveIsSecret!: (v: boolean) => void, rejectIsSecret!: (e: unknown) => void;
    let resolveDeps!: (v: unknown[]) => void, rejectDeps!: (e: unknown) => void;
    const value = new Promise((resolve, reject) => {
      resolveValue = resolve;
      rejectValue = reject;
    });
    const isKnown = new Promise<boolean>((resolve, reject) => {
      resolveIsKnown = resolve;
      rejectIsKnown = reject;
    });
    const isSecret = new Promise<boolean>((resolve, reject) => {
      resolveIsSecret = resolve;
      rejectIsSecret = reject;
    });
    const deps = new Promise<unknown[]>((resolve, reject) => {
      resolveDeps = resolve;
      rejectDeps = reject;
    });
    // The SDK's promises settle once: later calls changed nothing (the chains had already run).
    let called = false;
    resolvers[k] = (v, known, secret, dependencies = [], err) => {
      if (err) {
        // The SDK's own skip of a gRPC error (its debugPromiseLeaks message aside).
        if (sdkErrors.isGrpcError(err)) return;
        if (called) return;
        called = true;
        inTwoTurns(() => {
          // Each chain's `catch` names its own promise on the error and rethrows it; the last one wins.
          const settle: [Promise<unknown>, (e: unknown) => void][] = [
            [value, rejectValue],
            [isKnown, rejectIsKnown],
            [isSecret, rejectIsSecret],
            [deps, rejectDeps],
          ];
          for (const [promise, reject] of settle) {
            try {
              if (err && typeof err === "object") (err as { promise?: unknown }).promise = promise;
              reject(err);
            } catch (thrown) {
              // What that `catch` would have rejected with instead (a frozen error).
              reject(thrown);
            }
          }
        });
      } else {
        if (called) return;
        called = true;
        inTwoTurns(() => {
          resolveValue(v);
          resolveIsKnown(known);
          resolveIsSecret(secret);
          resolveDeps(dependencies);
        });
      }
    };
    (onto as Record<string, unknown>)[k] = new SdkOutput(onto, value, isKnown, isSecret, deps);
  }
  return resolvers;
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
  const previousTransfer = sdkRpc.transferProperties;
  if (opts.limit !== false) {
    Error.stackTraceLimit = 0;
    debuggable.debuggablePromise = plainPromise;
    sdkResource.stackTrace = noFrames;
    sdkRpc.transferProperties = plainTransferProperties;
  }
  return () => {
    if (Error.prepareStackTrace === (filter as unknown)) Error.prepareStackTrace = previous as typeof Error.prepareStackTrace;
    Error.stackTraceLimit = previousLimit;
    debuggable.debuggablePromise = previousWrapper;
    sdkResource.stackTrace = previousStackTrace;
    sdkRpc.transferProperties = previousTransfer;
  };
}
