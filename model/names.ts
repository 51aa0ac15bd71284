// Physical names of an environment, one definition each (DESIGN.md rule 1: every physical name
// carries the stack's environment token). Docker names are `<app>-<env>-<part>`; Postgres names
// `<app>_<env>` with every '-' as '_' (an unquoted Postgres identifier has no '-':
// https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS).
import { REDIS_PORT } from "./ports";
import { slugToIdentifier } from "./slug";

/** The environment token of a stack: `prod`, `dev` or `preview`. */
export type EnvToken = "prod" | "dev" | "preview";

/** Infix of a preview's database and role name: `<app>_preview_<slug>`. */
export const PREVIEW_DATABASE_INFIX = "_preview_";

/** Longest Postgres identifier, in bytes (NAMEDATALEN - 1; longer names are truncated). */
export const PG_IDENTIFIER_MAX = 63;

/** `<app>-<env>`: the prefix of every Docker name (containers, services, networks, volumes, secrets) of an environment. */
export function namePrefix(appName: string, env: EnvToken): string {
  return `${appName}-${env}`;
}

/** `<app>_<env>`, '-' as '_': the database and login role of a prod or dev environment. */
export function databaseName(appName: string, env: EnvToken): string {
  return `${appName}_${env}`.replace(/-/g, "_");
}

/** `<app>_preview_<slug>`, '-' as '_': the database and login role of one preview, on the dev server. */
export function previewDatabaseName(appName: string, slug: string): string {
  return `${appName.replace(/-/g, "_")}${PREVIEW_DATABASE_INFIX}${slugToIdentifier(slug)}`;
}

/** `<prefix>-host-<name>`: the machine (server/droplet) name of a provisioned host `hosts[].name`. */
export function hostServerName(prefix: string, hostName: string): string {
  return `${prefix}-host-${hostName}`;
}

/** The Redis key prefix of a prod or dev env: `redis.prefix`, else `<env>:`. */
export function redisKeyPrefix(env: EnvToken, configured?: string): string {
  return configured ?? `${env}:`;
}

/** Where every preview's Redis key prefix starts (on dev's Redis). */
export const PREVIEW_REDIS_PREFIX_START = "preview-";

/** The Redis key prefix of one preview (on dev's Redis): `preview-<slug>:`. */
export function previewRedisPrefix(slug: string): string {
  return `${PREVIEW_REDIS_PREFIX_START}${slug}:`;
}

/** A dedicated Redis as the env's containers reach it: the `redis` alias on the env network, Redis's own port. */
export function dedicatedRedisUrl(): string {
  return `redis://redis:${REDIS_PORT}`;
}

/** `<prefix>-runner`: the name prefix of an env's CI runner machines (RunnerFleetArgs.namePrefix). */
export function runnerNamePrefix(prefix: string): string {
  return `${prefix}-runner`;
}

/** `<runnerPrefix>-<i>`: the machine (droplet/server) name of runner `i` (0-based) of a fleet. */
export function runnerMachineName(runnerPrefix: string, index: number): string {
  return `${runnerPrefix}-${index}`;
}

/**
 * Matches every {@link runnerMachineName} of a {@link runnerNamePrefix} (`...-runner-<i>`). A
 * {@link hostServerName} would match only for a host named `...runner-<digits>`, which validation
 * refuses for a provisioned host (model/validate.ts), so the pack's name test is unambiguous.
 */
export const RUNNER_MACHINE_NAME_RE = /(^|-)runner-\d+$/;
