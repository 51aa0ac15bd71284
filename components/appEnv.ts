// The app's environment variables the program generates itself (components/instanceStack.ts sets
// them; stacks/validate.ts rejects them in app.env and app.secretEnv). One list, used by both.

/** Set by InstanceStack for every app and worker container (FEATURE_* see GENERATED_ENV_PREFIXES). */
export const GENERATED_ENV_VARS = [
  "APP_ENV",
  "PORT",
  "APP_VERSION",
  "REDIS_URL",
  "REDIS_PREFIX",
  "DATA_DIR",
  "DATABASE_URL",
  "SESSION_SECRET",
  "JWT_SECRET",
] as const;

/** app.features.<name> becomes FEATURE_<NAME>. */
export const GENERATED_ENV_PREFIXES = ["FEATURE_"] as const;

export function isGeneratedEnvVar(name: string): boolean {
  return (GENERATED_ENV_VARS as readonly string[]).includes(name) || GENERATED_ENV_PREFIXES.some((p) => name.startsWith(p));
}
