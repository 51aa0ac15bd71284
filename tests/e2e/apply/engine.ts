// The e2e applier's core: the mocks harness in apply mode (not preview). The real program runs under
// pulumi.runtime.setMocks(..., preview=false); every custom resource it registers is realised by the
// handler registered for its type (docker, postgresql, random, tls, command) and the handler's real
// outputs go back to the program. It keeps a JSON state file per stack, diffs a new apply against it
// (same inputs: untouched; changed: update in place or replace, honouring deleteBeforeReplace), deletes
// what the program no longer declares, and destroys in reverse dependency order.
//
// Test-only. It stands in for the Pulumi engine and the provider plugins, which cannot be had on
// these machines: it does not prove what those do, only what the program asks of them.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { SecretValue, decode, resolveOutputs, revealSecrets, waitForRegistrations } from "../../harness";
import { findProjectFile, readStackConfig } from "../../../model/stackFile";
import { dockerFunctions } from "./docker";
import { ApplyContext, FunctionRegistry, HandlerRegistry, ProviderRef, ResourceHandler, StateEntry } from "./types";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const rpc = require("@pulumi/pulumi/runtime/rpc");
const SIG_KEY: string = rpc.specialSigKey;
const SECRET_SIG: string = rpc.specialSecretSig;
const PROVIDER_PREFIX = "pulumi:providers:";
const STACK_REFERENCE = "pulumi:pulumi:StackReference";

/** The state file: resources in creation order, and the stack outputs (secrets as {"@secret": value}). */
export interface StackState {
  stack: string;
  resources: StateEntry[];
  outputs: Record<string, unknown>;
}

export interface ApplyOptions {
  stack: string;
  project?: string;
  /** The program; default: the real one (stacks/runStack, what index.ts runs). */
  program?: () => unknown;
  /** Pulumi.<stack>.yaml, merged over the project's Pulumi.yaml defaults as tools/planner.ts does. */
  configFile?: string;
  /** Pulumi.yaml; default: found upwards from configFile. */
  projectFile?: string;
  /** Values for `secure:` keys of the stack file ("twinstack:key" → value); a secure key without one fails. */
  secrets?: Record<string, string>;
  /** Config as the engine passes it, instead of configFile (unit tests). */
  config?: Record<string, string>;
  secretKeys?: string[];
  stateFile: string;
  handlers: HandlerRegistry;
  /** Provider functions (invokes) by token; default: the docker provider's (docker.ts). */
  functions?: FunctionRegistry;
  /** StackReference name ("dev" or "org/project/dev") → state file of that applied stack. */
  stackStateFiles?: Record<string, string>;
  /** StackReference name → outputs, instead of a state file (unit tests). */
  stackOutputs?: Record<string, Record<string, unknown>>;
  /** Inputs of the default provider per package ("docker" → { host }), over the stack's `<pkg>:*` config. */
  defaultProviders?: Record<string, Record<string, unknown>>;
  /** Progress lines as they happen (the same lines are returned in `log`). */
  log?: (line: string) => void;
}

export interface ApplyResult {
  /** Stack outputs; secret ones wrapped in SecretValue. */
  outputs: Record<string, unknown>;
  log: string[];
  state: StateEntry[];
}

export interface DestroyOptions {
  stack: string;
  stateFile: string;
  handlers: HandlerRegistry;
  /** Delete protected resources too (`pulumi destroy` refuses them otherwise). */
  allowProtected?: boolean;
  defaultProviders?: Record<string, Record<string, unknown>>;
  config?: Record<string, string>;
  log?: (line: string) => void;
}

/** A failed apply or destroy: the message names every failure; `log` is what was done before. */
export class ApplyError extends Error {
  constructor(
    message: string,
    public readonly log: string[],
  ) {
    super(message);
  }
}

// ---- state file ----

function encodeOutputs(value: unknown): unknown {
  if (value instanceof SecretValue) return { "@secret": encodeOutputs(value.value) };
  if (Array.isArray(value)) return value.map(encodeOutputs);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encodeOutputs(v)]));
  return value;
}

function decodeOutputs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeOutputs);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (Object.keys(obj).length === 1 && "@secret" in obj) return new SecretValue(decodeOutputs(obj["@secret"]));
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, decodeOutputs(v)]));
  }
  return value;
}

export function readState(stateFile: string, stack = ""): StackState {
  if (!fs.existsSync(stateFile)) return { stack, resources: [], outputs: {} };
  const parsed = JSON.parse(fs.readFileSync(stateFile, "utf8")) as StackState;
  return { ...parsed, outputs: decodeOutputs(parsed.outputs) as Record<string, unknown> };
}

function writeState(stateFile: string, state: StackState): void {
  fs.mkdirSync(path.dirname(stateFile), { recursive: true });
  const tmp = `${stateFile}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ ...state, outputs: encodeOutputs(state.outputs) }, null, 2), { mode: 0o600 });
  fs.renameSync(tmp, stateFile);
}

/** The outputs of an applied stack, secrets wrapped in SecretValue. */
export function stackOutputsOf(stateFile: string): Record<string, unknown> {
  if (!fs.existsSync(stateFile)) throw new Error(`no applied stack at ${stateFile}`);
  return readState(stateFile).outputs;
}

// ---- helpers ----

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (isAbsent(a) && isAbsent(b)) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => deepEqual((a as any)[k], (b as any)[k]));
  }
  return a === b;
}

function containsSecret(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(containsSecret);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SIG_KEY] === SECRET_SIG) return true;
    return Object.values(obj).some(containsSecret);
  }
  return false;
}

function secretWrap(value: unknown): unknown {
  return { [SIG_KEY]: SECRET_SIG, value };
}

/** Top-level input keys present (not undefined/null) that the handler does not map. */
export function unmappedInputs(handler: ResourceHandler, inputs: Record<string, unknown>): string[] {
  return Object.keys(inputs).filter((k) => !isAbsent(inputs[k]) && !handler.mappedInputs.includes(k));
}

/** Keys whose value differs between two input objects. */
export function changedKeys(olds: Record<string, unknown>, news: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(olds), ...Object.keys(news)])].filter((k) => !deepEqual(olds[k], news[k])).sort();
}

/** URN part of a provider reference "urn::id". */
function providerUrn(ref: string): string {
  return ref.slice(0, ref.lastIndexOf("::"));
}

/**
 * The order to delete `entries` in: an entry goes only after every entry that depends on it
 * (through inputs, dependsOn, its provider or as a child); otherwise the newest first.
 */
export function deletionOrder(entries: StateEntry[]): StateEntry[] {
  const remaining = entries.map((entry, index) => ({ entry, index }));
  const dependsOn = (a: StateEntry, b: StateEntry) =>
    a !== b && (a.dependencies.includes(b.urn) || (a.provider !== undefined && providerUrn(a.provider) === b.urn) || a.parent === b.urn);
  const order: StateEntry[] = [];
  while (remaining.length) {
    // The newest entry nothing remaining depends on.
    let pick = -1;
    for (let i = remaining.length - 1; i >= 0; i--) {
      if (!remaining.some((other) => dependsOn(other.entry, remaining[i].entry))) {
        pick = i;
        break;
      }
    }
    if (pick < 0) throw new Error(`dependency cycle among ${remaining.map((r) => r.entry.urn).join(", ")}`);
    order.push(remaining[pick].entry);
    remaining.splice(pick, 1);
  }
  return order;
}

function packageOf(type: string): string {
  return type.startsWith(PROVIDER_PREFIX) ? type.slice(PROVIDER_PREFIX.length) : type.split(":")[0];
}

/** The default provider of a package: its `<pkg>:<key>` stack config, overridden by `overrides`. */
function defaultProvider(pkg: string, config: Record<string, string>, overrides?: Record<string, Record<string, unknown>>): ProviderRef {
  const inputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key.startsWith(`${pkg}:`)) inputs[key.slice(pkg.length + 1)] = value;
  }
  Object.assign(inputs, overrides?.[pkg] ?? {});
  return { urn: `default_${pkg}`, type: `${PROVIDER_PREFIX}${pkg}`, inputs };
}

function providerFor(
  entry: { type: string; provider?: string },
  providers: Map<string, StateEntry>,
  config: Record<string, string>,
  overrides?: Record<string, Record<string, unknown>>,
): ProviderRef {
  if (!entry.provider) return defaultProvider(packageOf(entry.type), config, overrides);
  const urn = providerUrn(entry.provider);
  const found = providers.get(urn);
  if (!found) throw new Error(`provider ${urn} is not known to the applier`);
  return { urn, type: found.type, inputs: found.inputs };
}

function handlerFor(handlers: HandlerRegistry, type: string, name: string): ResourceHandler {
  const handler = handlers[type];
  if (!handler) throw new Error(`${type} "${name}": the e2e applier has no handler for this resource type`);
  return handler;
}

// ---- config ----

function loadConfig(opts: ApplyOptions): { config: Record<string, string>; secretKeys: string[]; sourceFile?: string } {
  if (!opts.configFile) return { config: opts.config ?? {}, secretKeys: opts.secretKeys ?? [] };
  const projectFile = opts.projectFile ?? findProjectFile(path.dirname(path.resolve(opts.configFile)));
  const file = readStackConfig(opts.configFile, { stack: opts.stack, projectFile });
  const config = { ...file.engineConfig };
  for (const key of file.engineSecretKeys) {
    const value = opts.secrets?.[key];
    if (value === undefined) throw new Error(`${opts.configFile}: ${key} is a secure: value; the e2e applier has no passphrase (pass it in secrets)`);
    config[key] = value;
  }
  return { config, secretKeys: file.engineSecretKeys, sourceFile: opts.configFile };
}

// ---- apply ----

interface Registration {
  type: string;
  name: string;
  urn: string;
  parent?: string;
  provider?: string;
  inputs: Record<string, any>;
  /** Input keys that held a secret anywhere inside: their outputs stay secret. */
  secretInputs: string[];
  dependencies: string[];
  protect: boolean;
  deleteBeforeReplace: boolean;
  retainOnDelete: boolean;
  ignoreChanges: string[];
  additionalSecretOutputs: string[];
}

function readRegistration(monitor: any, req: any): Registration {
  const raw = req.getObject()?.toJavaScript() ?? {};
  const parent = req.getParent() || undefined;
  const propertyDependencies: string[] = [];
  req.getPropertydependenciesMap().forEach((deps: any) => propertyDependencies.push(...deps.getUrnsList()));
  return {
    type: req.getType(),
    name: req.getName(),
    urn: monitor.newUrn(parent, req.getType(), req.getName()),
    parent,
    provider: req.getProvider() || undefined,
    inputs: decode(raw, true) as Record<string, any>,
    secretInputs: Object.keys(raw).filter((k) => containsSecret(raw[k])),
    dependencies: [...new Set([...req.getDependenciesList(), ...propertyDependencies])],
    protect: req.getProtect?.() ?? false,
    deleteBeforeReplace: req.getDeletebeforereplace?.() ?? false,
    retainOnDelete: req.getRetainondelete?.() ?? false,
    ignoreChanges: req.getIgnorechangesList?.() ?? [],
    additionalSecretOutputs: req.getAdditionalsecretoutputsList?.() ?? [],
  };
}

/**
 * Applies the program for one stack against its state file: creates, updates, replaces and deletes
 * for real through `handlers`, then writes the new state. Throws ApplyError naming every failure
 * (the state then keeps what exists: new resources made so far and old ones not deleted).
 */
/** The state entry of a realised registration. */
function stateEntry(r: Registration, id: string, outputs: Record<string, any>): StateEntry {
  return {
    urn: r.urn,
    type: r.type,
    name: r.name,
    id,
    provider: r.provider,
    parent: r.parent,
    inputs: r.inputs,
    outputs,
    dependencies: r.dependencies,
    protect: r.protect,
    deleteBeforeReplace: r.deleteBeforeReplace,
    retainOnDelete: r.retainOnDelete,
  };
}

export async function applyStack(opts: ApplyOptions): Promise<ApplyResult> {
  const log: string[] = [];
  const say = (line: string) => {
    log.push(line);
    opts.log?.(line);
  };
  const { config, secretKeys, sourceFile } = loadConfig(opts);
  const program = opts.program ?? (await import("../../../stacks")).runStack;
  const old = readState(opts.stateFile, opts.stack);
  const oldByUrn = new Map(old.resources.filter((e) => !e.pendingDelete).map((e) => [e.urn, e]));
  const oldProviders = new Map(old.resources.filter((e) => e.type.startsWith(PROVIDER_PREFIX)).map((e) => [e.urn, e]));
  const providers = new Map<string, StateEntry>();
  const created: StateEntry[] = [];
  const registered = new Set<string>();
  /** Old entries replaced create-before-delete: deleted once the program has finished. */
  const replacedOld: StateEntry[] = [];
  /** Old entries already deleted (delete-before-replace). */
  const deletedOld = new Set<StateEntry>();
  const errors: string[] = [];

  const ctxFor = (r: { type: string; name: string; urn: string; provider?: string }, provs: Map<string, StateEntry>): ApplyContext => ({
    provider: providerFor(r, provs, config, opts.defaultProviders),
    urn: r.urn,
    name: r.name,
    stack: opts.stack,
    log: (message) => say(`    ${r.name}: ${message}`),
  });

  /** Realises one registration; returns its id and outputs (plain). */
  async function realise(r: Registration): Promise<{ id: string; outputs: Record<string, any> }> {
    const prior = oldByUrn.get(r.urn);
    if (r.type.startsWith(PROVIDER_PREFIX)) {
      const entry = stateEntry(r, prior?.id ?? crypto.randomUUID(), r.inputs);
      providers.set(r.urn, entry);
      return { id: entry.id, outputs: r.inputs };
    }

    const handler = handlerFor(opts.handlers, r.type, r.name);
    const news = { ...r.inputs };
    if (prior && prior.type === r.type) for (const key of r.ignoreChanges) news[key] = prior.inputs[key];
    r.inputs = news;
    const unmapped = unmappedInputs(handler, news);
    if (unmapped.length) {
      throw new Error(`${r.type} "${r.name}": input ${unmapped.map((k) => `"${k}"`).join(", ")} not mapped by the e2e applier (it would be silently dropped)`);
    }
    const ctx = ctxFor(r, providers);

    if (!prior || prior.type !== r.type) {
      if (prior) throw new Error(`${r.urn}: type changed from ${prior.type}`);
      say(`+ create ${r.type} ${r.name}`);
      const made = await handler.create(news, ctx);
      return { id: made.id, outputs: made.outputs };
    }
    const changed = changedKeys(prior.inputs, news);
    if (!changed.length) {
      say(`= same ${r.type} ${r.name}`);
      return { id: prior.id, outputs: prior.outputs };
    }
    const replace = !handler.update || !handler.replaceKeys || changed.some((k) => handler.replaceKeys!.includes(k));
    if (!replace) {
      say(`~ update ${r.type} ${r.name} (${changed.join(", ")})`);
      const updated = await handler.update!(prior.id, prior.inputs, news, prior.outputs, ctx);
      return { id: updated.id, outputs: updated.outputs };
    }
    if (prior.protect) throw new Error(`${r.type} "${r.name}" is protected and would be replaced (${changed.join(", ")} changed): refusing`);
    if (r.deleteBeforeReplace) {
      say(`+- replace ${r.type} ${r.name} (${changed.join(", ")}; delete first)`);
      await handler.delete(prior.id, prior.outputs, prior.inputs, ctxFor(prior, oldProviders));
      deletedOld.add(prior);
      const made = await handler.create(news, ctx);
      return { id: made.id, outputs: made.outputs };
    }
    say(`+- replace ${r.type} ${r.name} (${changed.join(", ")}; create first)`);
    const made = await handler.create(news, ctx);
    replacedOld.push(prior);
    return { id: made.id, outputs: made.outputs };
  }

  let slot: { type: string; name: string; id: string; state: Record<string, unknown> } | undefined;
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        if (args.type === STACK_REFERENCE) return answerStackReference(String(args.inputs.name), opts);
        if (!args.custom) return { id: "", state: args.inputs };
        if (!slot || slot.type !== args.type || slot.name !== args.name) throw new Error(`applier: no realised state for ${args.type} "${args.name}"`);
        const result = { id: slot.id, state: slot.state };
        slot = undefined;
        return result;
      },
      async call(args: pulumi.runtime.MockCallArgs) {
        const fn = (opts.functions ?? dockerFunctions)[args.token];
        if (!fn) throw new Error(`the e2e applier has no function ${args.token}`);
        return fn(args.inputs, providerFor({ type: args.token, provider: args.provider || undefined }, providers, config, opts.defaultProviders));
      },
    },
    opts.project ?? "twinstack",
    opts.stack,
    false,
  );
  pulumi.runtime.setAllConfig(config, secretKeys);

  // A failed registration is never answered: answering with an error would reject the SDK's own
  // promises of that resource, which nothing awaits (unhandled rejections). Once one failed, no
  // further registration is started; the apply waits for the ones under way, then reports.
  let failed = false;
  let signalFailure: () => void = () => {};
  const failure = new Promise<void>((resolve) => (signalFailure = resolve));
  const inflight = new Set<Promise<void>>();
  const fail = (message: string) => {
    if (!errors.some((e) => message.includes(e) || e.includes(message))) errors.push(message);
    failed = true;
    signalFailure();
  };

  const monitor = pulumi.runtime.getMonitor() as any;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: (err: unknown, resp?: any) => void) => {
    if (!req.getCustom()) return register(req, callback);
    const r = readRegistration(monitor, req);
    if (failed) {
      say(`! not started ${r.type} ${r.name} (an earlier resource failed)`);
      return;
    }
    const job = realise(r).then(
      ({ id, outputs }) => {
        const entry = stateEntry(r, id, r.type.startsWith(PROVIDER_PREFIX) ? {} : outputs);
        created.push(entry);
        registered.add(r.urn);
        // Outputs of secret inputs stay secret, and so do the ones the resource declares secret
        // (additionalSecretOutputs: the engine, not the SDK, applies those).
        const state: Record<string, unknown> = { ...outputs };
        for (const key of new Set([...r.secretInputs, ...r.additionalSecretOutputs])) {
          if (key in state && !isAbsent(state[key])) state[key] = secretWrap(state[key]);
        }
        slot = { type: r.type, name: r.name, id, state };
        register(req, callback);
      },
      (err: unknown) => {
        const message = (err as Error)?.message ?? String(err);
        say(`! failed ${r.type} ${r.name}: ${message}`);
        fail(message.includes(`"${r.name}"`) ? message : `${r.type} "${r.name}": ${message}`);
      },
    );
    inflight.add(job);
    void job.finally(() => inflight.delete(job));
  };

  const previousStackFile = process.env.TWINSTACK_STACK_FILE;
  if (sourceFile) process.env.TWINSTACK_STACK_FILE = sourceFile;
  let outputs: Record<string, unknown> = {};
  const run = (async () => {
    const exported = await program();
    outputs = await resolveOutputs(exported);
    await waitForRegistrations();
  })().catch((err) => fail((err as Error)?.message ?? String(err)));
  try {
    await Promise.race([run, failure]);
    while (inflight.size) await Promise.allSettled([...inflight]);
  } finally {
    if (previousStackFile === undefined) delete process.env.TWINSTACK_STACK_FILE;
    else process.env.TWINSTACK_STACK_FILE = previousStackFile;
  }

  // Old resources not declared now, old ones replaced create-first, and leftovers of a failed run.
  const leftover = old.resources.filter((e) => (e.pendingDelete || !registered.has(e.urn)) && !deletedOld.has(e));
  const toDelete = [...leftover.filter((e) => !e.type.startsWith(PROVIDER_PREFIX)), ...replacedOld];
  if (errors.length) {
    // Like the engine after a failed update: nothing more is deleted; what exists stays in state.
    const kept = [
      ...leftover.filter((e) => !registered.has(e.urn)),
      ...[...leftover, ...replacedOld].filter((e) => registered.has(e.urn)).map((e) => ({ ...e, pendingDelete: true })),
    ];
    writeState(opts.stateFile, { stack: opts.stack, resources: [...created, ...kept], outputs: old.outputs });
    throw new ApplyError(`apply of stack "${opts.stack}" failed:\n${errors.map((e) => `  ${e}`).join("\n")}`, log);
  }

  const remaining = [...created];
  const undeleted: StateEntry[] = [];
  const allProviders = new Map([...oldProviders, ...providers]);
  for (const entry of deletionOrder(toDelete)) {
    if (entry.protect && !entry.pendingDelete && !replacedOld.includes(entry)) {
      errors.push(`${entry.type} "${entry.name}" is protected and no longer declared: refusing to delete it`);
      undeleted.push(entry);
      continue;
    }
    if (entry.retainOnDelete) {
      say(`- forget ${entry.type} ${entry.name} (retainOnDelete)`);
      continue;
    }
    try {
      say(`- delete ${entry.type} ${entry.name}`);
      await handlerFor(opts.handlers, entry.type, entry.name).delete(entry.id, entry.outputs, entry.inputs, ctxFor(entry, allProviders));
    } catch (err) {
      errors.push(`${entry.type} "${entry.name}": delete failed: ${(err as Error).message}`);
      undeleted.push(registered.has(entry.urn) ? { ...entry, pendingDelete: true } : entry);
    }
  }
  // Providers of the old state still needed by what remains.
  const neededProviders = [...oldProviders.values()].filter((p) => !registered.has(p.urn) && undeleted.some((e) => e.provider && providerUrn(e.provider) === p.urn));
  remaining.push(...undeleted, ...neededProviders);
  writeState(opts.stateFile, { stack: opts.stack, resources: remaining, outputs: errors.length ? old.outputs : outputs });
  if (errors.length) throw new ApplyError(`apply of stack "${opts.stack}" failed:\n${errors.map((e) => `  ${e}`).join("\n")}`, log);
  return { outputs, log, state: remaining };
}

/** The StackReference read: the outputs of another applied stack (secret ones named as such). */
function answerStackReference(refName: string, opts: ApplyOptions): { id: string; state: Record<string, unknown> } {
  const short = refName.split("/").pop() as string;
  let outputs: Record<string, unknown> | undefined = opts.stackOutputs?.[refName] ?? opts.stackOutputs?.[short];
  const stateFile = opts.stackStateFiles?.[refName] ?? opts.stackStateFiles?.[short];
  if (!outputs && stateFile) outputs = stackOutputsOf(stateFile);
  if (!outputs) throw new Error(`stack reference "${refName}": no applied stack of that name is known to the e2e applier`);
  const secretOutputNames = Object.entries(outputs)
    .filter(([, v]) => v instanceof SecretValue)
    .map(([k]) => k);
  return { id: refName, state: { name: refName, outputs: revealSecrets(outputs), secretOutputNames } };
}

// ---- destroy ----

/**
 * Deletes every resource of the stack's state in reverse dependency order. Refuses (before
 * deleting anything) when a protected resource is in the state, unless allowProtected.
 */
export async function destroyStack(opts: DestroyOptions): Promise<{ log: string[] }> {
  const log: string[] = [];
  const say = (line: string) => {
    log.push(line);
    opts.log?.(line);
  };
  const state = readState(opts.stateFile, opts.stack);
  const providers = new Map(state.resources.filter((e) => e.type.startsWith(PROVIDER_PREFIX)).map((e) => [e.urn, e]));
  const resources = state.resources.filter((e) => !e.type.startsWith(PROVIDER_PREFIX));
  const protectedOnes = resources.filter((e) => e.protect);
  if (protectedOnes.length && !opts.allowProtected) {
    throw new ApplyError(`destroy of stack "${opts.stack}" refused: protected resources ${protectedOnes.map((e) => `${e.type} "${e.name}"`).join(", ")}`, log);
  }
  const remaining = [...state.resources];
  for (const entry of deletionOrder(resources)) {
    const ctx: ApplyContext = {
      provider: providerFor(entry, providers, opts.config ?? {}, opts.defaultProviders),
      urn: entry.urn,
      name: entry.name,
      stack: opts.stack,
      log: (message) => say(`    ${entry.name}: ${message}`),
    };
    try {
      if (entry.retainOnDelete) say(`- forget ${entry.type} ${entry.name} (retainOnDelete)`);
      else {
        say(`- delete ${entry.type} ${entry.name}`);
        await handlerFor(opts.handlers, entry.type, entry.name).delete(entry.id, entry.outputs, entry.inputs, ctx);
      }
    } catch (err) {
      writeState(opts.stateFile, { stack: state.stack, resources: remaining, outputs: state.outputs });
      throw new ApplyError(`destroy of stack "${opts.stack}" failed at ${entry.type} "${entry.name}": ${(err as Error).message}`, log);
    }
    remaining.splice(remaining.indexOf(entry), 1);
  }
  writeState(opts.stateFile, { stack: state.stack, resources: [], outputs: {} });
  return { log };
}
