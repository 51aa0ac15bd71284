// The one mocks harness, the offline plan's engine: `npm run plan`, the URN baseline, the e2e
// applier and the unit tests all evaluate the real program through it. It runs a program under
// pulumi.runtime.setMocks in preview mode and records every resource registration exactly as the
// engine would receive it (type, name, parent, options, inputs). Product code: it lives beside the
// tools that use it, never under tests/ (tests/harness.ts re-exports it for the tests).
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import bcrypt from "bcryptjs";
import { skipSdkStackTraces } from "./sdkStackTraces";
import { usePlainStructs } from "./plainStructs";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");

// The SDK's own wire markers (node_modules/@pulumi/pulumi/runtime/rpc.d.ts), not copies: a secret is
// { [specialSigKey]: specialSecretSig, value }, a resource reference { [specialSigKey]: specialResourceSig, urn },
// and a value unknown at preview time is the string unknownValue.
const SECRET_SIG = pulumi.runtime.specialSecretSig;
const SIG_KEY = pulumi.runtime.specialSigKey;
const UNKNOWN = pulumi.runtime.unknownValue;
const RESOURCE_SIG = pulumi.runtime.specialResourceSig;

/** Marks a value that was a Pulumi secret in the registration. */
export class SecretValue {
  constructor(public readonly value: unknown) {}
  toJSON() {
    return "[secret]";
  }
}
export const UNKNOWN_VALUE = "[unknown]";

export interface PlannedResource {
  type: string;
  name: string;
  urn: string;
  custom: boolean;
  parent?: string;
  provider?: string;
  /** Inputs with secrets wrapped in SecretValue. */
  inputs: Record<string, unknown>;
  /** Inputs with secrets unwrapped: what a policy sees as `props`. */
  props: Record<string, unknown>;
  /** Output state the mock returned (inputs plus computed fields). */
  state: Record<string, unknown>;
  opts: {
    protect: boolean;
    retainOnDelete: boolean;
    deleteBeforeReplace: boolean;
    ignoreChanges: string[];
    dependsOn: string[];
    additionalSecretOutputs: string[];
  };
  /** URNs this resource depends on (explicit and through inputs). */
  dependencies: string[];
  /**
   * The URNs the engine would match this resource's old state by: its own `aliases` and those it
   * inherits from its parent's (see aliasUrns). Empty for most resources.
   */
  aliases: string[];
  propertyDependencies: Record<string, string[]>;
}

export interface PlanOptions {
  project?: string;
  stack: string;
  /** Full config keys ("twinstack:app") to raw string values, as the engine passes them. */
  config: Record<string, string>;
  secretKeys?: string[];
  /** Outputs of other stacks, by StackReference name ("dev" or "org/twinstack/dev"). */
  stackOutputs?: Record<string, Record<string, unknown>>;
  /** Shown in config error messages instead of Pulumi.<stack>.yaml. */
  sourceFile?: string;
}

export interface PlanResult {
  resources: PlannedResource[];
  /** Stack outputs; secret ones wrapped in SecretValue. */
  outputs: Record<string, unknown>;
}

function hex(seed: string, length: number): string {
  let out = "";
  for (let i = 0; out.length < length; i++) out += crypto.createHash("sha256").update(`${seed}#${i}`).digest("hex");
  return out.slice(0, length);
}

/** Decodes a serialized property value, keeping secrets and unknowns visible. */
export function decode(value: unknown, unwrapSecrets: boolean): unknown {
  if (value === UNKNOWN) return UNKNOWN_VALUE;
  if (Array.isArray(value)) return value.map((v) => decode(v, unwrapSecrets));
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SIG_KEY] === SECRET_SIG) {
      const inner = decode(obj.value, unwrapSecrets);
      return unwrapSecrets ? inner : new SecretValue(inner);
    }
    if (obj[SIG_KEY] === RESOURCE_SIG) return obj.urn;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) out[k] = decode(v, unwrapSecrets);
    return out;
  }
  return value;
}

function fakePem(kind: string, seed: string): string {
  return `-----BEGIN ${kind}-----\n${Buffer.from(hex(seed, 96)).toString("base64")}\n-----END ${kind}-----\n`;
}

const AUTONAMED = new Set([
  "docker:index/container:Container",
  "docker:index/volume:Volume",
  "docker:index/network:Network",
  "docker:index/service:Service",
  "docker:index/secret:Secret",
  "docker:index/serviceConfig:ServiceConfig",
]);

/** Computed outputs a real provider would fill in, made deterministic from the resource name. */
function computedState(type: string, name: string, inputs: Record<string, any>, stackOutputs: PlanOptions["stackOutputs"]) {
  const seed = `${type}::${name}`;
  const state: Record<string, unknown> = { ...inputs };
  if (AUTONAMED.has(type) && !inputs.name) state.name = `${name}-${hex(seed, 7)}`;
  switch (type) {
    case "random:index/randomPassword:RandomPassword": {
      const result = hex(seed, Number(inputs.length ?? 32));
      state.result = result;
      // A salt from the seed, not random: the same config plans to the same inputs (tests/urnBaseline.test.ts).
      const salt = `$2b$04$${bcrypt.encodeBase64(Array.from(Buffer.from(hex(`${seed}#salt`, 32), "hex")), 16)}`;
      state.bcryptHash = bcrypt.hashSync(result, salt);
      break;
    }
    case "random:index/randomId:RandomId":
      state.hex = hex(seed, Number(inputs.byteLength ?? 8) * 2);
      state.b64Url = Buffer.from(state.hex as string, "hex").toString("base64url");
      break;
    case "random:index/randomBytes:RandomBytes":
      state.hex = hex(seed, Number(inputs.length ?? 32) * 2);
      state.base64 = Buffer.from(state.hex as string, "hex").toString("base64");
      break;
    case "tls:index/privateKey:PrivateKey":
      state.privateKeyPem = fakePem("PRIVATE KEY", seed);
      state.publicKeyPem = fakePem("PUBLIC KEY", seed);
      state.publicKeyOpenssh = `ssh-ed25519 ${Buffer.from(hex(seed, 64)).toString("base64")}`;
      break;
    case "tls:index/selfSignedCert:SelfSignedCert":
    case "tls:index/locallySignedCert:LocallySignedCert":
      state.certPem = fakePem("CERTIFICATE", seed);
      break;
    case "tls:index/certRequest:CertRequest":
      state.certRequestPem = fakePem("CERTIFICATE REQUEST", seed);
      break;
    case "docker:index/remoteImage:RemoteImage":
      state.repoDigest = `${String(inputs.name).replace(/[:@].*$/, "")}@sha256:${hex(seed, 64)}`;
      state.imageId = `sha256:${hex(seed + "id", 64)}`;
      break;
    case "digitalocean:index/droplet:Droplet":
      state.ipv4Address = `203.0.113.${(parseInt(hex(seed, 2), 16) % 250) + 1}`;
      state.urn = `do:droplet:${hex(seed, 8)}`;
      break;
    case "digitalocean:index/reservedIp:ReservedIp":
      state.ipAddress = `198.51.100.${(parseInt(hex(seed, 2), 16) % 250) + 1}`;
      break;
    case "hcloud:index/server:Server":
      state.ipv4Address = `203.0.113.${(parseInt(hex(seed, 2), 16) % 250) + 1}`;
      break;
    case "hcloud:index/floatingIp:FloatingIp":
      state.ipAddress = `198.51.100.${(parseInt(hex(seed, 2), 16) % 250) + 1}`;
      break;
    case "command:local:Command":
    case "command:remote:Command":
      state.stdout = inputs.create && String(inputs.create).includes("join-token") ? `SWMTKN-1-${hex(seed, 50)}` : "";
      state.stderr = "";
      break;
    case "pulumi:pulumi:StackReference": {
      const refName = String(inputs.name);
      const short = refName.split("/").pop() as string;
      const outputs = stackOutputs?.[refName] ?? stackOutputs?.[short];
      if (!outputs) throw new Error(`stack reference "${refName}": no outputs known for that stack`);
      state.outputs = outputs;
      state.secretOutputNames = [];
      break;
    }
  }
  return state;
}

/**
 * `urn:pulumi:<stack>::<project>::<parent type>$<type>::<name>`, built the way the SDK's mock monitor
 * builds the URNs the harness records (node_modules/@pulumi/pulumi/runtime/mocks.js `newUrn`: the
 * parent's own type only; the engine writes the parent's whole type chain). Aliases are computed in
 * the same scheme, so they compare with the recorded URNs.
 */
export function urnOf(name: string, type: string, parentUrn: string | undefined, project: string, stack: string): string {
  const parentType = parentUrn ? `${parentUrn.split("::")[2].split("$").pop()}$` : "";
  return `urn:pulumi:${stack}::${project}::${parentType}${type}::${name}`;
}

/** One `aliases` entry as registered: a full URN, or a spec whose absent fields default to the resource's own. */
export type AliasSpec = { urn: string } | { name?: string; type?: string; stack?: string; project?: string; parentUrn?: string; noParent?: boolean };

/**
 * The full set of URNs a resource is known by besides its own, the way the engine and the SDK
 * compute it (node_modules/@pulumi/pulumi/resource.js `allAliases` and `inheritedChildAlias`;
 * https://www.pulumi.com/docs/iac/concepts/options/aliases/): each of its own aliases, and for each
 * alias URN of its parent, the child's URN under that parent URN, where a child name that starts
 * with the parent's name takes the aliased parent's name as its prefix (the `${name}-part`
 * convention), and the same for each own alias under each parent alias.
 */
export function aliasUrns(resource: { name: string; type: string; parent?: string }, specs: AliasSpec[], parentAliases: string[], project: string, stack: string): string[] {
  const own = specs.map((a) =>
    "urn" in a ? a.urn : urnOf(a.name || resource.name, a.type || resource.type, a.noParent ? undefined : a.parentUrn || resource.parent, a.project || project, a.stack || stack),
  );
  const out = [...own];
  if (resource.parent) {
    const parentName = resource.parent.substring(resource.parent.lastIndexOf("::") + 2);
    const inherit = (childName: string, childType: string, parentAlias: string) => {
      const aliasParentName = parentAlias.substring(parentAlias.lastIndexOf("::") + 2);
      const name = childName.startsWith(parentName) ? aliasParentName + childName.substring(parentName.length) : childName;
      return urnOf(name, childType, parentAlias, project, stack);
    };
    for (const parentAlias of parentAliases) {
      out.push(inherit(resource.name, resource.type, parentAlias));
      for (const urn of own) {
        const type = urn.split("::")[2].split("$").pop() as string;
        out.push(inherit(urn.substring(urn.lastIndexOf("::") + 2), type, parentAlias));
      }
    }
  }
  return [...new Set(out)];
}

/** The `aliases` of a RegisterResourceRequest (pulumi/proto/alias_pb), as AliasSpecs. */
function aliasSpecsOf(req: any): AliasSpec[] {
  return (req.getAliasesList?.() ?? []).map((a: any): AliasSpec => {
    if (a.hasUrn()) return { urn: a.getUrn() };
    const spec = a.getSpec();
    return { name: spec.getName(), type: spec.getType(), stack: spec.getStack(), project: spec.getProject(), parentUrn: spec.getParenturn(), noParent: spec.getNoparent() };
  });
}

/** The last plan started: the SDK's runtime state (mocks, stack, config) is one per process. */
let lastPlan: Promise<unknown> = Promise.resolve();

/**
 * Runs `program` under mocks in preview mode and returns what it declared. Plans run one at a time:
 * one started while another is under way (`Promise.all` of two plans) waits for it, as two plans
 * interleaved in the SDK's one runtime state declared each other's resources under each other's stack.
 */
export function planProgram(program: () => unknown, opts: PlanOptions): Promise<PlanResult> {
  const plan = lastPlan.then(() => planAlone(program, opts));
  lastPlan = plan.catch(() => undefined);
  return plan;
}

async function planAlone(program: () => unknown, opts: PlanOptions): Promise<PlanResult> {
  const resources: PlannedResource[] = [];
  const project = opts.project ?? "twinstack";
  const previousStackFile = process.env.TWINSTACK_STACK_FILE;
  if (opts.sourceFile) process.env.TWINSTACK_STACK_FILE = opts.sourceFile;
  else delete process.env.TWINSTACK_STACK_FILE;

  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        const state = computedState(args.type, args.name, args.inputs, opts.stackOutputs);
        return { id: args.type.startsWith("pulumi:providers:") ? `${args.name}-provider-id` : `${args.name}-id`, state };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        // An SSH key of the cloud account, looked up by name or id: a deterministic stand-in key.
        if (args.token === "hcloud:index/getSshKey:getSshKey" || args.token === "digitalocean:index/getSshKey:getSshKey") {
          const key = String(args.inputs.name ?? args.inputs.id);
          return { ...args.inputs, publicKey: `ssh-ed25519 ${Buffer.from(hex(`${args.token}::${key}`, 64), "hex").toString("base64")} ${key}` };
        }
        // A registry lookup answers with a stand-in digest that follows the reference.
        if (args.token === "docker:index/getRegistryImage:getRegistryImage") {
          return { ...args.inputs, sha256Digest: `sha256:${crypto.createHash("sha256").update(String(args.inputs.name)).digest("hex")}` };
        }
        return args.inputs;
      },
    },
    project,
    opts.stack,
    true,
  );
  pulumi.runtime.setAllConfig(opts.config, opts.secretKeys ?? []);

  // Record each registration as the engine sees it; the mock monitor does the rest.
  const monitor = pulumi.runtime.getMonitor() as any;
  const register = monitor.registerResource.bind(monitor);
  // Alias URNs by resource URN: a parent's response (its URN) precedes its children's requests.
  const aliasesByUrn = new Map<string, string[]>();
  monitor.registerResource = (req: any, callback: (err: unknown, resp?: any) => void) => {
    const parent: string | undefined = req.getParent() || undefined;
    const aliases = aliasUrns({ name: req.getName(), type: req.getType(), parent }, aliasSpecsOf(req), (parent && aliasesByUrn.get(parent)) || [], project, opts.stack);
    register(req, (err: unknown, resp?: any) => {
      if (!err && resp) aliasesByUrn.set(resp.getUrn(), aliases);
      if (!err && resp) {
        // The engine, not the SDK, turns additionalSecretOutputs into secrets: do what it does.
        const secretOutputs: string[] = req.getAdditionalsecretoutputsList?.() ?? [];
        if (secretOutputs.length) {
          const object = resp.getObject()?.toJavaScript() ?? {};
          for (const key of secretOutputs) {
            if (key in object && !(object[key] && object[key][SIG_KEY] === SECRET_SIG)) object[key] = { [SIG_KEY]: SECRET_SIG, value: object[key] };
          }
          resp.setObject(Struct.fromJavaScript(object));
        }
        const raw = req.getObject().toJavaScript();
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
          propertyDependencies[key] = deps.getUrnsList();
        });
        const dependsOn: string[] = req.getDependenciesList();
        resources.push({
          type: req.getType(),
          name: req.getName(),
          urn: resp.getUrn(),
          custom: req.getCustom(),
          parent: req.getParent() || undefined,
          provider: req.getProvider() || undefined,
          inputs: decode(raw, false) as Record<string, unknown>,
          props: decode(raw, true) as Record<string, unknown>,
          state: decode(resp.getObject()?.toJavaScript() ?? {}, true) as Record<string, unknown>,
          opts: {
            protect: req.getProtect?.() ?? false,
            retainOnDelete: req.getRetainondelete?.() ?? false,
            deleteBeforeReplace: req.getDeletebeforereplace?.() ?? false,
            ignoreChanges: req.getIgnorechangesList?.() ?? [],
            dependsOn,
            additionalSecretOutputs: req.getAdditionalsecretoutputsList?.() ?? [],
          },
          dependencies: [...new Set([...dependsOn, ...Object.values(propertyDependencies).flat()])],
          propertyDependencies,
          aliases,
        });
      }
      callback(err, resp);
    });
  };

  const restoreStackTraces = skipSdkStackTraces();
  const restoreStructs = usePlainStructs();
  try {
    let exported: unknown;
    try {
      exported = await program();
    } catch (err) {
      // A component that throws after its super() (an invariant) has a registration under way:
      // let it land on this plan's mock monitor, not on the next plan's.
      await waitForRegistrations().catch(() => undefined);
      throw err;
    }
    const outputs = await resolveOutputs(exported);
    await waitForRegistrations();
    return { resources, outputs };
  } finally {
    restoreStructs();
    restoreStackTraces();
    if (previousStackFile === undefined) delete process.env.TWINSTACK_STACK_FILE;
    else process.env.TWINSTACK_STACK_FILE = previousStackFile;
  }
}

export async function waitForRegistrations() {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings");
  await settings.waitForRPCs();
}

async function resolveOne(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    const output = value as pulumi.Output<unknown>;
    const [isSecret, isKnown] = await Promise.all([(output as any).isSecret as Promise<boolean>, (output as any).isKnown as Promise<boolean>]);
    // An apply on an unknown output never runs in preview: ask first, then read.
    const resolved = isKnown ? await resolveOne(await new Promise<unknown>((resolve) => output.apply((v) => resolve(v)))) : UNKNOWN_VALUE;
    return isSecret ? new SecretValue(resolved) : resolved;
  }
  if (value instanceof Promise) return resolveOne(await value);
  if (Array.isArray(value)) return Promise.all(value.map(resolveOne));
  if (value && typeof value === "object" && !(value instanceof SecretValue) && !pulumi.Resource.isInstance(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await resolveOne(v);
    return out;
  }
  return value;
}

export async function resolveOutputs(exported: unknown): Promise<Record<string, unknown>> {
  if (exported === undefined || exported === null) return {};
  return (await resolveOne(exported)) as Record<string, unknown>;
}

/** Unwraps SecretValue markers (for feeding one stack's outputs to another's StackReference). */
export function revealSecrets(value: unknown): unknown {
  if (value instanceof SecretValue) return revealSecrets(value.value);
  if (Array.isArray(value)) return value.map(revealSecrets);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revealSecrets(v)]));
  }
  return value;
}

/** Does any SecretValue hide anywhere inside? */
export function isSecretValue(value: unknown): value is SecretValue {
  return value instanceof SecretValue;
}

// ---- conveniences for tests ----

/** Every string reachable in `value` without passing through a SecretValue: what anyone may read. */
export function plainStrings(value: unknown): string[] {
  if (value instanceof SecretValue) return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(plainStrings);
  if (value && typeof value === "object") return Object.values(value).flatMap(plainStrings);
  return [];
}

export function byType(resources: PlannedResource[], type: string): PlannedResource[] {
  return resources.filter((r) => r.type === type);
}

export function one(resources: PlannedResource[], type: string, nameIncludes?: string): PlannedResource {
  const found = resources.filter((r) => r.type === type && (!nameIncludes || r.name.includes(nameIncludes)));
  if (found.length !== 1) {
    throw new Error(`expected one ${type}${nameIncludes ? ` named *${nameIncludes}*` : ""}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
  }
  return found[0];
}
