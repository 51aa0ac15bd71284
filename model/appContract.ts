// The contract between twinstack and the app: every environment variable the app (and each worker,
// which gets the same set) receives in prod, dev and preview, and what its health check needs.
// One source: InstanceStack and PreviewEnv build the env with appEnvironment(), and the README's
// table is rendered from APP_CONTRACT (tools/appContract.ts; a test keeps them in sync).
// Pure: no Pulumi imports.

/** The environments an app container runs in; `APP_ENV` carries it. */
export type AppEnv = "prod" | "dev" | "preview";

/**
 * One row of the app's env-var contract ({@link APP_CONTRACT}): name, whether it is a Pulumi secret,
 * in which envs it is set, and what the app should do with it.
 */
export interface ContractVariable {
  /** The variable name; `<FLAG>`/`<NAME>` stand for a family. */
  name: string;
  /** Pulumi secret: the value never appears in plain config, state diffs or logs. */
  secret: boolean;
  /** The envs it is set in, and when (absent = always). */
  envs: Partial<Record<AppEnv, string>>;
  meaning: string;
}

const ALWAYS = "always";

/**
 * The env vars the program sets on every app and worker container, for prod, dev and preview: the one
 * definition the README's table is rendered from (tools/appContract.ts) and {@link appEnvironment} follows.
 */
export const APP_CONTRACT: ContractVariable[] = [
  { name: "APP_ENV", secret: false, envs: { prod: "`prod`", dev: "`dev`", preview: "`preview`" }, meaning: "which environment this is" },
  {
    name: "PORT",
    secret: false,
    envs: { prod: ALWAYS, dev: ALWAYS, preview: ALWAYS },
    meaning: "the port to listen on (`app.port`, default 3000); the proxy and the health check connect to it",
  },
  {
    name: "BASE_PATH",
    secret: false,
    envs: { preview: "`/preview/<slug>`" },
    meaning: "path prefix the app is served under; build links with it (prod and dev are served at `/` and do not set it)",
  },
  {
    name: "APP_VERSION",
    secret: false,
    envs: { prod: "`app.version` set", dev: "`app.version` set", preview: "dev's `app.version` set" },
    meaning: "the release version (`npm run promote` sets it in prod)",
  },
  {
    name: "DATABASE_URL",
    secret: true,
    envs: { prod: ALWAYS, dev: ALWAYS, preview: ALWAYS },
    meaning: "`postgres://<role>:<password>@<host>:<port>/<db>?sslmode=…` of the env's own database (`<app>_<env>`, preview `<app>_preview_<slug>`) and role",
  },
  {
    name: "SESSION_SECRET",
    secret: true,
    envs: { prod: ALWAYS, dev: ALWAYS, preview: ALWAYS },
    meaning: "48 random characters, generated per env (a preview gets its own): sign session cookies with it",
  },
  {
    name: "JWT_SECRET",
    secret: true,
    envs: { prod: ALWAYS, dev: ALWAYS, preview: ALWAYS },
    meaning: "48 random characters, generated per env and distinct from SESSION_SECRET: sign tokens with it (rotating one does not invalidate the other)",
  },
  {
    name: "REDIS_URL",
    secret: false,
    envs: { prod: "`redis.mode` ≠ none", dev: "`redis.mode` ≠ none", preview: "dev's `redis.mode` ≠ none (dev's Redis)" },
    meaning: "`redis://…` of the env's Redis (dedicated: `redis://redis:6379`)",
  },
  {
    name: "REDIS_PREFIX",
    secret: false,
    envs: { prod: "with REDIS_URL", dev: "with REDIS_URL", preview: "with REDIS_URL" },
    meaning: "prefix every key with it (`redis.prefix`, default `<env>:`; preview `preview-<slug>:`): envs sharing a server never see each other's keys",
  },
  {
    name: "FEATURE_<FLAG>",
    secret: false,
    envs: { prod: "per `app.features` flag", dev: "per `app.features` flag", preview: "per dev's flag" },
    meaning: "`true`/`false` of the flag (upper-cased name)",
  },
  {
    name: "DATA_DIR",
    secret: false,
    envs: { prod: "`app.dataPath` set", dev: "`app.dataPath` set" },
    meaning: "directory of the env's persistent volume (a preview has no volume)",
  },
  {
    name: "<NAME> of app.env",
    secret: false,
    envs: { prod: ALWAYS, dev: ALWAYS, preview: "dev's values" },
    meaning: "the stack file's `app.env`, as given (cannot override the variables above)",
  },
  {
    name: "<NAME> of app.secretEnv",
    secret: true,
    envs: { prod: ALWAYS, dev: ALWAYS },
    meaning: "the secret config key it names (`pulumi config set --secret`); not given to previews, which run unreviewed branch code",
  },
];

/** What the app's image must do for a deploy to count as healthy (standalone and Swarm alike). */
export const HEALTH_CHECK =
  "by default a static busybox from the env's probe volume, mounted read-only into the container, runs `wget -q -O /dev/null http://127.0.0.1:<app.port><app.healthPath>` inside it, so the image needs no shell, `wget` or `curl` (`app.healthCheck.command` replaces it with an exec-form check of the image's own); `app.healthPath` must answer 2xx without authentication within 5 s; checked every 10 s after a 30 s start period. A new version takes traffic only once healthy; one that never becomes healthy leaves the old one serving.";

/**
 * What {@link appEnvironment} needs: the env, the app's listen `port` (TCP, default 3000 in the
 * config), and the optional parts (version, preview `basePath`, Redis URL and key prefix, feature
 * flags, data path, extra env, secret env) that decide which contract variables are set.
 */
export interface AppEnvInput {
  env: AppEnv;
  port: number;
  version?: string;
  /** Preview only: the path prefix the preview is routed under. */
  basePath?: string;
  redis?: { url: string; prefix: string };
  features: Record<string, boolean>;
  dataPath?: string;
  /** app.env from the stack file. */
  env_: Record<string, string>;
  databaseUrl: string;
  sessionSecret: string;
  jwtSecret: string;
  /** app.secretEnv, resolved (prod and dev only). */
  secretEnv?: Record<string, string>;
}

/** The contract's variables in a fixed order, as `KEY=value` for docker `envs`. */
export function appEnvironment(i: AppEnvInput): string[] {
  const set: Record<string, string> = {
    APP_ENV: i.env,
    PORT: String(i.port),
    ...(i.basePath !== undefined ? { BASE_PATH: i.basePath } : {}),
    ...(i.version ? { APP_VERSION: i.version } : {}),
    ...(i.redis ? { REDIS_URL: i.redis.url, REDIS_PREFIX: i.redis.prefix } : {}),
    ...Object.fromEntries(Object.entries(i.features).map(([flag, on]) => [`FEATURE_${flag.toUpperCase()}`, String(on)])),
    ...(i.dataPath ? { DATA_DIR: i.dataPath } : {}),
  };
  const reserved = new Set([...Object.keys(set), "DATABASE_URL", "SESSION_SECRET", "JWT_SECRET"]);
  const user = Object.entries(i.env_).filter(([key]) => !reserved.has(key));
  const secret = Object.entries(i.secretEnv ?? {}).filter(([key]) => !reserved.has(key));
  return [
    ...Object.entries(set).map(([k, v]) => `${k}=${v}`),
    ...user.map(([k, v]) => `${k}=${v}`),
    `DATABASE_URL=${i.databaseUrl}`,
    `SESSION_SECRET=${i.sessionSecret}`,
    `JWT_SECRET=${i.jwtSecret}`,
    ...secret.map(([k, v]) => `${k}=${v}`),
  ];
}

/** The README table: one row per variable, a column per env. */
export function appContractTable(): string {
  const cell = (v: ContractVariable, env: AppEnv) => v.envs[env] ?? "—";
  const lines = ["| variable | secret | prod | dev | preview | meaning |", "|---|---|---|---|---|---|"];
  for (const v of APP_CONTRACT) lines.push(`| \`${v.name}\` | ${v.secret ? "yes" : "no"} | ${cell(v, "prod")} | ${cell(v, "dev")} | ${cell(v, "preview")} | ${v.meaning} |`);
  lines.push("", `Health check: ${HEALTH_CHECK}`);
  return lines.join("\n");
}
