// What the dev stack exports for its previews (stack output `previewHandoff`), read by preview
// stacks through a StackReference. One zod schema (https://zod.dev/api), so both sides agree: the
// dev stack builds a value of its type (stacks/instance.ts), and a preview parses what it reads
// with it (stacks/preview.ts) before declaring anything, so a dev stack that exports something else
// (an older or newer program, a hand-edited state) fails with one message naming the dev stack,
// the output and the field. Messages never show a value that may be secret.
import { z } from "zod";
import { PG_IDENTIFIER_MAX, PREVIEW_DATABASE_INFIX } from "./names";
import { PREVIEW_SLUG_MAX_LENGTH } from "./slug";

/** The dev stack output a preview reads; stacks/instance.ts exports it on dev stacks. */
export const PREVIEW_HANDOFF_OUTPUT = "previewHandoff";

/** Longest app name a preview accepts: `<app>_preview_<slug>` must fit Postgres's 63 bytes. */
export const PREVIEW_APP_NAME_MAX_LENGTH = PG_IDENTIFIER_MAX - PREVIEW_DATABASE_INFIX.length - PREVIEW_SLUG_MAX_LENGTH;

/** As the config schema allows it: the docker names use it as is, the database with '-' as '_'. */
const APP_NAME_RE = /^[a-z][a-z0-9]*([_-][a-z0-9]+)*$/;
const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DOCKER_ENDPOINT_RE = /^(unix|ssh|tcp):\/\/\S+$/;

const portNumber = z
  .number({ error: "must be a port number" })
  .int({ error: "must be a port number" })
  .min(1, { error: "must be a port number" })
  .max(65535, { error: "must be a port number" });
const text = z.string({ error: "must be a string" });
const required = text.min(1, { error: "is missing" });
const dockerEndpoint = text.regex(DOCKER_ENDPOINT_RE, { error: "must be unix://, ssh:// or tcp://" });

/**
 * Shape of the dev stack's `previewHandoff` output (zod, https://zod.dev/api): the dev host's
 * Docker endpoint and network, the database server and admin login a preview creates its database
 * on, the proxy to register routes with, Redis, and the app settings a preview inherits. Validated
 * on both sides; a mismatch fails with {@link PreviewHandoffError}.
 */
export const previewHandoffSchema = z.object({
  appName: text.regex(APP_NAME_RE, { error: (issue) => `${JSON.stringify(issue.input)} must be lower-case letters, digits, '-', '_'` }).max(PREVIEW_APP_NAME_MAX_LENGTH, {
    error: (issue) =>
      `"${String(issue.input)}" is longer than ${PREVIEW_APP_NAME_MAX_LENGTH} characters: preview database names (<app>${PREVIEW_DATABASE_INFIX}<slug>) would exceed ${PG_IDENTIFIER_MAX}`,
  }),
  /** Docker endpoint of the dev host previews run on (unix:// or ssh://). */
  dockerHost: dockerEndpoint,
  /** SSH options for an ssh:// docker host. */
  dockerSshOpts: z.array(text, { error: "must be a list" }),
  /** Dev env network previews join. */
  networkName: required,
  /** Dev Postgres server as seen by the postgresql provider (admin) and by app containers. */
  postgres: z.object(
    {
      host: required,
      port: portNumber,
      /** Host name app containers use to reach the server on the dev network. */
      appHost: required,
      appPort: portNumber,
      adminUser: required,
      /** Secret in the dev stack's outputs. */
      adminPassword: text,
      sslmode: text,
      /** The dev database, template for previews that clone it. */
      devDatabase: text,
      /** The dev app role's URL as seen on the dev network: previews that clone dev dump it as that role (secret). */
      devDatabaseUrl: text.optional(),
      /** Image with pg_dump/pg_restore of the server's major (the backup client), for cloning. */
      clientImage: text.optional(),
      /** postgres.extensions of dev: a cloned preview database gets them from the admin first. */
      extensions: z.array(text).optional(),
    },
    { error: "is missing" },
  ),
  proxy: z.object(
    {
      /** Docker label value that finds the dev Caddy container: label twinstack.proxy=<value>. */
      label: text,
      /** Directory inside the Caddy container whose *.caddy files the dev site imports. */
      previewsDir: text,
      /**
       * Docker endpoints of every host running a dev proxy container, when there is one per node (a
       * Swarm with a VIP: each VIP node serves the site, so each needs the preview's route). Absent:
       * the one proxy on `dockerHost`.
       */
      dockerHosts: z.array(dockerEndpoint, { error: "must be a list of unix://, ssh:// or tcp:// endpoints" }).optional(),
    },
    { error: "is missing (label and previewsDir are required)" },
  ),
  /** The dev site's main domain; previews live at https://<domain>[:<httpsPort>]/preview/<slug>/. */
  domain: text.regex(DOMAIN_RE, { error: (issue) => `${JSON.stringify(issue.input)} is not a domain name` }),
  /** The dev proxy's published HTTPS port (443 unless dev moved it, e.g. 8443); absent from older dev stacks = 443. */
  httpsPort: portNumber.optional(),
  /** Image repository without tag; previews run <repo>:preview-<slug>. */
  imageRepository: text.refine((repo) => repo.length > 0 && !/[@\s]/.test(repo) && !/:[^/]*$/.test(repo), {
    error: (issue) => `${JSON.stringify(issue.input)} must be a repository without tag or digest`,
  }),
  app: z.object(
    {
      port: portNumber,
      healthPath: text.regex(/^\/[\w\-./]*$/, { error: "must be an absolute URL path" }),
      /** Dev's app.env (the preview sets APP_ENV itself). */
      env: z.record(text.regex(ENV_NAME_RE, { error: (issue) => `key ${JSON.stringify(issue.input)} is not an environment variable name` }), text),
      /** Dev's app.features, app.version and Redis URL (absent from older dev stacks). */
      features: z.record(text, z.boolean()).optional(),
      version: text.optional(),
      redisUrl: text.optional(),
      /** The app image's own exec-form health check (app.healthCheck.command), if any. */
      healthCheckCommand: z.array(text).optional(),
      /** Docker volume with the static health probe on the dev host (model/images.ts HEALTH_PROBE), when no command is given. */
      probeVolume: text.optional(),
    },
    { error: "is missing" },
  ),
});

/** What the dev stack exports for its previews (its `previewHandoff` output). */
export type PreviewHandoff = z.infer<typeof previewHandoffSchema>;

/** A dev stack's handoff does not fit the schema (or what the preview needs of it). */
export class PreviewHandoffError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PreviewHandoffError";
  }
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
}

/** `<field> <problem>`; a bad record key is named by its own schema's message (`app.env key "1X" is …`). */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_key" && issue.issues.length) return `${fieldPath(issue.path.slice(0, -1))} ${issue.issues[0].message}`;
  return `${fieldPath(issue.path)} ${issue.message}`.trim();
}

/**
 * Every problem of a handoff, one line each (`<field> <problem>`), or none. A preview that clones
 * the dev database (`cloneDevDatabase`) also needs `postgres.clientImage` and `postgres.devDatabaseUrl`.
 */
export function previewHandoffProblems(value: unknown, opts: { cloneDevDatabase?: boolean } = {}): string[] {
  if (!value || typeof value !== "object" || Array.isArray(value)) return ["is missing or not an object"];
  const result = previewHandoffSchema.safeParse(value);
  const problems = result.success ? [] : result.error.issues.map(describeIssue);
  const pg = (value as { postgres?: { clientImage?: unknown; devDatabaseUrl?: unknown } }).postgres;
  if (opts.cloneDevDatabase && !(pg?.clientImage && pg?.devDatabaseUrl)) {
    problems.push("postgres.clientImage and postgres.devDatabaseUrl are missing, which preview.cloneDevDatabase needs");
  }
  return problems;
}

/**
 * Parses the dev stack's output as a preview reads it (through a StackReference to `devStack`).
 * @throws PreviewHandoffError naming the dev stack, the output and every field that does not fit
 *   (`dev stack "dev": output previewHandoff: app.port must be a port number`).
 */
export function parsePreviewHandoff(value: unknown, devStack: string, opts: { cloneDevDatabase?: boolean } = {}): PreviewHandoff {
  const problems = previewHandoffProblems(value, opts);
  if (problems.length) {
    throw new PreviewHandoffError(
      problems.map((p) => `dev stack "${devStack}": output ${PREVIEW_HANDOFF_OUTPUT}: ${p}`).join("\n") +
        `\n(a preview reads this output of the dev stack: run pulumi up -s ${devStack} with this version of the program first)`,
    );
  }
  return previewHandoffSchema.parse(value);
}
