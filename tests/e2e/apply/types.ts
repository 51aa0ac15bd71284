// The contract between the e2e applier's core (tests/e2e/apply/engine.ts: the mocks harness in apply
// mode, state, diff, update/replace, destroy) and its per-provider handlers (one module per provider:
// docker.ts, postgresql.ts, random.ts, tls.ts, command.ts). Test-only: it stands in for the Pulumi engine
// and provider plugins, which cannot be had on these machines.
//
// Changed since the first version (compatible: handlers need not change): StateEntry gained the
// optional `retainOnDelete` and `pendingDelete` (the core's bookkeeping of replaced or failed resources).

/** A provider resource the program declared (`pulumi:providers:<pkg>`), resolved for a handler. */
export interface ProviderRef {
  urn: string;
  /** e.g. "pulumi:providers:docker" */
  type: string;
  /** Its inputs as declared, secrets unwrapped (docker: host, sshOpts; postgresql: host, port, username, password, sslmode, ...). */
  inputs: Record<string, any>;
}

export interface ApplyContext {
  /** The explicit provider of the resource, if the program gave one (else the default provider of its package). */
  provider?: ProviderRef;
  /** The resource's URN and logical name, for messages and labels. */
  urn: string;
  name: string;
  stack: string;
  /** Progress lines (printed by the e2e run, never with secret values). */
  log(message: string): void;
}

export interface Realised {
  /** The physical id the provider would report (container id, network id, "<db name>", ...). */
  id: string;
  /** Output state as the real provider documents it: the inputs plus computed fields (e.g. RemoteImage.repoDigest, RandomPassword.result/bcryptHash, Container.name). */
  outputs: Record<string, any>;
}

/**
 * How one resource type is realised. Inputs are exactly what the program registered (secrets unwrapped,
 * resource references as their URNs/ids as the SDK serialises them). Every input key a handler does not
 * map must make the run fail loudly: list what it maps in `mappedInputs`; the core checks every
 * registration against it before calling `create`/`update`.
 */
export interface ResourceHandler {
  /** Top-level input keys this handler realises (the core rejects any other key that is present and not undefined). */
  mappedInputs: readonly string[];
  create(inputs: Record<string, any>, ctx: ApplyContext): Promise<Realised>;
  /**
   * In-place update when inputs changed and `replaceKeys` says no replacement is needed. Absent: every
   * change replaces.
   */
  update?(id: string, olds: Record<string, any>, news: Record<string, any>, oldOutputs: Record<string, any>, ctx: ApplyContext): Promise<Realised>;
  /** Input keys whose change forces a replacement (the provider schema's ForceNew). Absent: all keys. */
  replaceKeys?: readonly string[];
  delete(id: string, outputs: Record<string, any>, inputs: Record<string, any>, ctx: ApplyContext): Promise<void>;
}

/** Handlers by resource type token, e.g. "docker:index/container:Container". */
export type HandlerRegistry = Record<string, ResourceHandler>;

/** One resource in the applier's state file (JSON, per stack), in creation order. */
export interface StateEntry {
  urn: string;
  type: string;
  name: string;
  id: string;
  /** Provider reference "urn::id" as the SDK sends it, if any. */
  provider?: string;
  parent?: string;
  inputs: Record<string, any>;
  outputs: Record<string, any>;
  /** URNs this one depends on (explicit dependsOn and through inputs): destroy goes in reverse. */
  dependencies: string[];
  protect: boolean;
  deleteBeforeReplace: boolean;
  /** `retainOnDelete`: dropped from state without calling the handler's delete. */
  retainOnDelete?: boolean;
  /** An old resource replaced create-first (or left by a failed apply), still to be deleted. */
  pendingDelete?: boolean;
}

/**
 * A provider function (an invoke, e.g. docker.getRegistryImage): inputs as the program passed them,
 * the provider it names (or its package's default); returns the function's documented outputs.
 */
export type FunctionHandler = (inputs: Record<string, any>, provider: ProviderRef) => Promise<Record<string, any>>;

/** Functions by token, e.g. "docker:index/getRegistryImage:getRegistryImage". */
export type FunctionRegistry = Record<string, FunctionHandler>;
