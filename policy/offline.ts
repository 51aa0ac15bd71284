// Runs the pack's policies without the Pulumi engine, over resources the mocks harness recorded
// (`npm run plan`, policy tests). Builds the same argument shapes @pulumi/policy's analyzer builds:
// resource policies get inputs, stack policies get the resource list with parents, dependencies,
// property dependencies and providers; getConfig returns the policy's config over its schema's
// defaults; values unknown during preview raise the SDK's UnknownValueError on access.
import type {
  EnforcementLevel,
  Policies,
  PolicyProviderResource,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { ALL_POLICIES, PACK_ENFORCEMENT_LEVEL, policies as packPolicies } from "./policies";
import { nameFromUrn, providerUrnOf } from "./lib/resources";
import { withStackContext } from "./lib/stackContext";
// The offline plan runs inside the program: stack files are read with its schema.
import "./programConfig";

/** A resource as the harness records it (tools/harness PlannedResource has this shape). */
export interface OfflineResource {
  type: string;
  name: string;
  urn: string;
  custom?: boolean;
  parent?: string;
  /** Provider reference `<provider urn>::<provider id>`. */
  provider?: string;
  /** Inputs, secrets unwrapped: what a resource policy sees. */
  props: Record<string, unknown>;
  /** Outputs: what a stack policy sees (falls back to props). */
  state?: Record<string, unknown>;
  opts: {
    protect: boolean;
    retainOnDelete?: boolean;
    deleteBeforeReplace?: boolean;
    ignoreChanges?: string[];
    dependsOn?: string[];
    additionalSecretOutputs?: string[];
  };
  dependencies?: string[];
  propertyDependencies?: Record<string, string[]>;
}

/** One violation reported by a policy in an offline run, with the policy's name and effective level. */
export interface Violation {
  policy: string;
  enforcementLevel: "mandatory" | "advisory";
  /** URN of the resource in violation; absent for the stack as a whole. */
  resource?: string;
  message: string;
}

/** Where an offline run finds the stack's config and the policy config. */
export interface RunContext {
  stack: string;
  /** The stack's config file (what the engine finds through TWINSTACK_STACK_FILE_PATH). */
  stackFile?: string;
  /** Directory of the Pulumi.<stack>.yaml files when no stackFile is given. */
  projectDir?: string;
  /** Policy pack config: policy name -> { enforcementLevel?, ...properties }. */
  policyConfig?: Record<string, Record<string, unknown>>;
}

/** The harness marks values unknown at preview time with this string. */
export const HARNESS_UNKNOWN = "[unknown]";

interface SdkProxy {
  unknownCheckingProxy(value: unknown): any;
  UnknownValueError: new (...args: any[]) => Error;
  unknownStringValue: string;
}
// The SDK's own proxy (exported at runtime, untyped): unknown values behave exactly as in the engine.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sdkProxy: SdkProxy = require("@pulumi/policy/proxy");

class NotApplicable extends Error {}
const notApplicable = (reason?: string): never => {
  throw new NotApplicable(reason ?? "not applicable");
};

function markUnknowns(value: unknown): unknown {
  if (value === HARNESS_UNKNOWN) return sdkProxy.unknownStringValue;
  if (Array.isArray(value)) return value.map(markUnknowns);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = markUnknowns(v);
    return out;
  }
  return value;
}

function engineProps(props: Record<string, unknown> | undefined): Record<string, any> {
  return sdkProxy.unknownCheckingProxy(markUnknowns(props ?? {}));
}

/** The SDK's isTypeOf: the class's __pulumiType, else its isInstance. */
function isTypeOf(type: string, resourceClass: unknown): boolean {
  const cls = resourceClass as { __pulumiType?: unknown; isInstance?: (o: unknown) => boolean } | undefined;
  if (typeof cls?.__pulumiType === "string" && cls.__pulumiType.length > 0) return type === cls.__pulumiType;
  return typeof cls?.isInstance === "function" && cls.isInstance({ __pulumiType: type }) === true;
}

// What a policy is handed for a resource, as @pulumi/policy's analyzer builds it (server.js): its
// own copy of the props behind the SDK's unknown-checking proxy for every call. The copy is made
// on first read of `props` (or asType) and kept: most policies look at the type first and never
// read it, and a plan's resources each meet every policy (~11 calls per resource). Prototype
// getters and methods, not per-call closures: a 1,000-resource plan makes ~12,000 of these.

/**
 * A provider as a policy sees it (`args.provider`, `resource.provider`), and the base of the
 * resources: the type, URN, name and props read on first use.
 */
class OfflineProvider implements PolicyProviderResource {
  #source: Record<string, unknown> | undefined;
  #props?: Record<string, any>;
  constructor(
    readonly type: string,
    source: Record<string, unknown> | undefined,
    readonly urn: string,
    readonly name: string,
  ) {
    this.#source = source;
  }
  get props(): Record<string, any> {
    return (this.#props ??= engineProps(this.#source));
  }
  set props(value: Record<string, any>) {
    this.#props = value;
  }
}

/** The shared part of a resource policy's arguments and a stack policy's resource. */
class OfflinePolicyResource extends OfflineProvider {
  declare provider?: PolicyProviderResource;
  constructor(
    type: string,
    source: Record<string, unknown> | undefined,
    urn: string,
    name: string,
    readonly opts: PolicyResourceOptions,
  ) {
    super(type, source, urn, name);
  }
  isType(cls: unknown): boolean {
    return isTypeOf(this.type, cls);
  }
  asType(cls: unknown): Record<string, any> | undefined {
    return isTypeOf(this.type, cls) ? this.props : undefined;
  }
}

/** `args` of a resource policy's validateResource. */
class OfflineResourceArgs extends OfflinePolicyResource {
  readonly stackTags = stackTags;
  readonly notApplicable = notApplicable;
  #config: Record<string, unknown>;
  constructor(r: OfflineResource, config: Record<string, unknown>) {
    super(r.type, r.props, r.urn, r.name, options(r));
    this.#config = config;
  }
  /** The policy's config; every call its own copy. */
  getConfig<T extends object>(): T {
    return structuredClone(this.#config) as T;
  }
}

/** One resource of a stack policy's `args.resources`. */
class OfflineStackResource extends OfflinePolicyResource {
  declare parent?: PolicyResource;
  dependencies: PolicyResource[] = [];
  propertyDependencies: Record<string, PolicyResource[]> = {};
}

function options(r: OfflineResource): PolicyResourceOptions {
  const opts: PolicyResourceOptions = {
    protect: r.opts.protect === true,
    ignoreChanges: r.opts.ignoreChanges ?? [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: r.opts.additionalSecretOutputs ?? [],
  };
  if (r.opts.deleteBeforeReplace) opts.deleteBeforeReplace = true;
  if (r.parent) opts.parent = r.parent;
  return opts;
}

function levelOf(policy: { name: string; enforcementLevel?: EnforcementLevel }, config: RunContext["policyConfig"]): EnforcementLevel {
  // The policy's own entry first, then "all" (what pulumi preview --policy-pack-config does).
  const configured = (config?.[policy.name]?.enforcementLevel ?? config?.[ALL_POLICIES]?.enforcementLevel) as EnforcementLevel | undefined;
  const level = configured ?? policy.enforcementLevel ?? PACK_ENFORCEMENT_LEVEL;
  return level === "remediate" ? "mandatory" : level;
}

/** The policy's config: its configSchema defaults, overlaid with the pack config (minus enforcementLevel). */
export function policyConfigFor(policy: ResourceValidationPolicy | StackValidationPolicy, config?: RunContext["policyConfig"]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
    if (typeof schema === "object" && schema.default !== undefined) out[key] = structuredClone(schema.default);
  }
  const { enforcementLevel: _ignored, ...given } = config?.[policy.name] ?? {};
  return { ...out, ...given };
}

const stackTags: ReadonlyMap<string, string> = new Map();

function isStackPolicy(p: unknown): p is StackValidationPolicy {
  return typeof (p as StackValidationPolicy).validateStack === "function";
}

function ensureSync(result: unknown, policy: string): void {
  if (result && typeof (result as Promise<void>).then === "function") {
    throw new Error(`policy ${policy}: asynchronous validations cannot run in the offline plan`);
  }
}

/** Runs every policy over the resources; returns the violations in the engine's order (resources, then stack). */
export function runPolicies(resources: OfflineResource[], ctx: RunContext, policies: Policies = packPolicies): Violation[] {
  return withStackContext({ stackFile: ctx.stackFile, projectDir: ctx.projectDir }, () => {
    const violations: Violation[] = [];
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const providerOf = (r: OfflineResource, useState: boolean): PolicyProviderResource | undefined => {
      if (!r.provider) return undefined;
      const urn = providerUrnOf(r.provider);
      const p = byUrn.get(urn);
      return new OfflineProvider(p?.type ?? urn.split("::")[2] ?? "", useState ? (p?.state ?? p?.props) : p?.props, urn, p?.name ?? nameFromUrn(urn));
    };

    const run = (policy: ResourceValidationPolicy | StackValidationPolicy, resource: string | undefined, call: (report: (message: string, urn?: string) => void) => unknown) => {
      const level = levelOf(policy, ctx.policyConfig);
      if (level === "disabled") return;
      const enforcementLevel = level === "advisory" ? "advisory" : "mandatory";
      const report = (message: string, urn?: string) => violations.push({ policy: policy.name, enforcementLevel, resource: urn ?? resource, message });
      try {
        ensureSync(call(report), policy.name);
      } catch (err) {
        if (err instanceof NotApplicable) return;
        if (err instanceof sdkProxy.UnknownValueError) {
          // As the engine does: a policy that needs an unknown value is reported, as advisory.
          violations.push({ policy: policy.name, enforcementLevel: "advisory", resource, message: `can't run policy during preview: ${err.message}` });
          return;
        }
        throw err;
      }
    };

    // Each policy's config once (getConfig hands every call its own copy), not once per resource.
    const configs = new Map(policies.map((policy) => [policy, policyConfigFor(policy, ctx.policyConfig)]));
    for (const r of resources) {
      for (const policy of policies) {
        if (isStackPolicy(policy) || !policy.validateResource) continue;
        const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
        const config = configs.get(policy)!;
        for (const validate of validations) {
          const args = new OfflineResourceArgs(r, config) as unknown as ResourceValidationArgs;
          const provider = providerOf(r, false);
          if (provider) args.provider = provider;
          run(policy, r.urn, (report) => validate(args, report));
        }
      }
    }

    const stackPolicies = policies.filter(isStackPolicy);
    if (stackPolicies.length) {
      for (const policy of stackPolicies) {
        const list = policyResources(resources, providerOf);
        const config = policyConfigFor(policy, ctx.policyConfig);
        const args: StackValidationArgs = {
          resources: list,
          stackTags,
          getConfig: <T extends object>() => structuredClone(config) as T,
          notApplicable,
        };
        run(policy, undefined, (report) => policy.validateStack(args, report));
      }
    }
    return violations;
  });
}

/** The stack policy view: outputs as props, parent/dependencies resolved to the resource objects. */
function policyResources(resources: OfflineResource[], providerOf: (r: OfflineResource, useState: boolean) => PolicyProviderResource | undefined): PolicyResource[] {
  const list: PolicyResource[] = resources.map((r) => {
    const resource = new OfflineStackResource(r.type, r.state && Object.keys(r.state).length ? r.state : r.props, r.urn, r.name, options(r)) as unknown as PolicyResource;
    const provider = providerOf(r, true);
    if (provider) resource.provider = provider;
    return resource;
  });
  const byUrn = new Map(list.map((r) => [r.urn, r]));
  resources.forEach((r, i) => {
    const resource = list[i];
    if (r.parent && byUrn.has(r.parent)) resource.parent = byUrn.get(r.parent);
    resource.dependencies = (r.dependencies ?? []).map((d) => byUrn.get(d)).filter((d): d is PolicyResource => !!d);
    for (const [key, urns] of Object.entries(r.propertyDependencies ?? {})) {
      resource.propertyDependencies[key] = urns.map((d) => byUrn.get(d)).filter((d): d is PolicyResource => !!d);
    }
  });
  return list;
}

/** `policy-name (mandatory|advisory): resource: message`; the resource is shown by its name, "stack" when none. */
export function formatViolation(v: Violation): string {
  return `${v.policy} (${v.enforcementLevel}): ${v.resource ? nameFromUrn(v.resource) : "stack"}: ${v.message}`;
}
