// The app's environment variables the program generates itself: the literal names of the app
// contract (model/appContract.ts, which builds the env), so config validation
// (model/validate.ts) and InstanceStack's invariant reject exactly what the program sets.
import { APP_CONTRACT } from "./appContract";

/** Set by the program for every app and worker container (FEATURE_* see GENERATED_ENV_PREFIXES). */
export const GENERATED_ENV_VARS: readonly string[] = APP_CONTRACT.map((v) => v.name).filter((n) => /^[A-Z_][A-Z0-9_]*$/.test(n));

/** app.features.<name> becomes FEATURE_<NAME>: the contract's `FEATURE_<FLAG>` family. */
export const GENERATED_ENV_PREFIXES: readonly string[] = APP_CONTRACT.map((v) => /^([A-Z_][A-Z0-9_]*_)<[A-Z]+>$/.exec(v.name)?.[1]).filter((p): p is string => !!p);

/**
 * True when the program sets `name` itself ({@link GENERATED_ENV_VARS} or a `FEATURE_` flag), so
 * `app.env` may not set it.
 */
export function isGeneratedEnvVar(name: string): boolean {
  return GENERATED_ENV_VARS.includes(name) || GENERATED_ENV_PREFIXES.some((p) => name.startsWith(p));
}
