// Reads the running stack's `twinstack:` configuration through the Pulumi runtime. The only module
// that reads Pulumi config; parsing and validation are the model's (model/config.ts, re-exported
// here), and everything downstream gets the typed StackConfig.
import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE, namespaceValues, parseStackConfig } from "../model/config";
import { StackConfig } from "../model/schema";

export * from "../model/config";

export interface LoadedConfig {
  stack: string;
  /** The file the values came from, as shown in messages (e.g. Pulumi.dev.yaml). */
  sourceFile: string;
  config: StackConfig;
  /** Reads a secret config key (already checked to exist) as a Pulumi secret. */
  secret(key: string): pulumi.Output<string>;
}

/** Loads the running stack's config through the Pulumi runtime (the path `pulumi up` and the plan share). */
export function loadStackConfig(): LoadedConfig {
  const stack = pulumi.getStack();
  const sourceFile = process.env.TWINSTACK_STACK_FILE || `Pulumi.${stack}.yaml`;
  // tools/preflight.ts validates the same values the same way before the plan loads the SDK.
  const { config, secretKeys } = parseStackConfig(namespaceValues(pulumi.runtime.allConfig()), {
    stack,
    sourceFile,
    // Internal to the SDK but stable: the engine passes the names of secret keys in PULUMI_CONFIG_SECRET_KEYS.
    isSecret: (key) => (pulumi.runtime as unknown as { isConfigSecret(k: string): boolean }).isConfigSecret(`${NAMESPACE}:${key}`),
  });
  const pulumiConfig = new pulumi.Config(NAMESPACE);
  return {
    stack,
    sourceFile,
    config,
    secret(key: string) {
      if (!secretKeys.includes(key)) throw new Error(`config key ${NAMESPACE}:${key} is not a declared secret`);
      return pulumiConfig.requireSecret(key);
    },
  };
}
