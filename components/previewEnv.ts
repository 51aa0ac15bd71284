// One branch preview on the dev environment: the app image `<repo>:preview-<slug>` as a container
// on the dev host and network, its own database on the dev Postgres (optionally cloned from the
// dev database), and the route /preview/<slug>/ dropped into the dev Caddy. Everything about the
// dev side comes from the dev stack's PreviewHandoff; nothing is protected, so
// `pulumi destroy` removes it all (the route through the command's delete script).
import * as fs from "fs";
import * as path from "path";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { appEnvironment } from "../model/appContract";
import { PREVIEW_APP_NAME_MAX_LENGTH, PREVIEW_HANDOFF_OUTPUT, PreviewHandoff, previewHandoffProblems } from "../model/handoff";
import { PREVIEW_SLUG_MAX_LENGTH, previewSlug } from "../model/slug";
import { previewDatabaseName, previewRedisPrefix } from "../model/names";
import { renderPreviewRoute } from "./render/caddyfile";
import { renderPreviewRouteScripts } from "./render/previewRoute";
import { HEALTH_PROBE, httpProbeTest } from "../model/images";
import { PostgresDatabase } from "./postgresDatabase";
import { InvariantError } from "./render/invariant";
import { LABELS } from "../model/labels";
import { declareWorkload, WorkloadVolume } from "./workload";

/**
 * Arguments of {@link PreviewEnv}: the branch, the dev stack's handoff, whether to clone dev's
 * database, and the preview's limits.
 */
export interface PreviewEnvArgs {
  /** The git branch; the slug is previewSlug(branch) (a clean slug of at most 32 characters is kept as is). */
  branch: string;
  /** The dev stack's `previewHandoff` output (a StackReference output: usually entirely secret). */
  handoff: pulumi.Input<PreviewHandoff>;
  /** Create the preview database from the dev database as a template. */
  cloneDevDatabase: boolean;
  /**
   * The preview app container's limits: `cpus` a positive number of CPUs, `memoryMb` whole MiB
   * (config `preview.limits`, default 0.5 CPUs and 512 MiB).
   */
  limits: { cpus: number; memoryMb: number };
}

export { PREVIEW_SLUG_MAX_LENGTH, previewDatabaseName };
export { PREVIEW_APP_NAME_MAX_LENGTH };

/**
 * The component's own check of a handoff (stacks/preview.ts parses the dev stack's output with the
 * model's schema first, naming the dev stack): the schema's problems, naming the field, never a
 * value that may be secret.
 * @throws InvariantError `<where>: dev stack output previewHandoff: <problems>`
 */
export function checkPreviewHandoff(h: PreviewHandoff, where: string, opts: { cloneDevDatabase?: boolean } = {}): void {
  const problems = previewHandoffProblems(h, opts);
  if (problems.length) throw new InvariantError(`${where}: dev stack output ${PREVIEW_HANDOFF_OUTPUT}: ${problems.join("; ")}`);
}

const SCRIPTS_DIR = path.join(__dirname, "..", "scripts");
const readScript = (file: string) => fs.readFileSync(path.join(SCRIPTS_DIR, file), "utf8");
/**
 * Runs scripts/clone-db.sh (with restore.sh) in the client image on the dev network. The scripts and
 * URLs travel as environment variables that `docker run -e NAME` passes through, so no password is
 * on a command line.
 */
export const CLONE_COMMAND =
  'docker run --rm --network "$NETWORK" -e CLONE_SOURCE_URL -e DATABASE_URL -e CLONE_SH -e RESTORE_SH "$CLIENT_IMAGE" ' +
  `sh -c 'printf "%s" "$RESTORE_SH" >/tmp/restore.sh && printf "%s" "$CLONE_SH" >/tmp/clone.sh && RESTORE_SCRIPT=/tmp/restore.sh exec sh /tmp/clone.sh'`;

/**
 * One branch's preview on the dev host: its own database on dev's server (cloned from dev's with
 * `cloneDevDatabase`), generated session and JWT secrets, the app container
 * `<app>-preview-<slug>` on dev's network with dev's Redis, and a route `/preview/<slug>/` in dev's
 * proxy. Everything is read from dev's handoff; prod is never reached. Type token
 * `twinstack:index:PreviewEnv`. Children: `${name}-docker` (provider on the dev host), `${name}-db`,
 * `${name}-image`, `${name}-session-secret`, `${name}-jwt-secret`, `${name}-clone` (with
 * `cloneDevDatabase`), `${name}-app`, `${name}-route` (`-route-<i>` for further proxy nodes).
 * @throws InvariantError at construction when the limits are not positive; when the handoff
 * resolves, if it fails {@link checkPreviewHandoff}.
 * @example
 * const preview = new PreviewEnv("preview", {
 *   branch: "feature/login", handoff, // the dev stack's previewHandoff output (stacks/preview.ts readPreviewHandoff)
 *   cloneDevDatabase: false, limits: { cpus: 0.5, memoryMb: 512 },
 * });
 * export const url = preview.url; // https://dev.example.com/preview/feature-login-<hash>/
 */
export class PreviewEnv extends pulumi.ComponentResource {
  /** DNS-, Docker- and (as identifier) Postgres-safe, at most PREVIEW_SLUG_MAX_LENGTH characters. */
  public readonly slug: string;
  /** https://<dev domain>[:<dev https port unless 443>]/preview/<slug>/ */
  public readonly url: pulumi.Output<string>;
  /**
   * `<app>_preview_<slug>`. An Output, not a string: the app name is only known once the dev
   * stack's handoff resolves.
   */
  public readonly databaseName: pulumi.Output<string>;
  /** The image reference the preview runs: `<imageRepository>:preview-<slug>`. */
  public readonly image: pulumi.Output<string>;
  /** Physical container name, `<app>-preview-<slug>`. */
  public readonly containerName: pulumi.Output<string>;
  /** Network alias on the dev network the route points at: `preview-<slug>`. */
  public readonly networkAlias: string;

  constructor(name: string, args: PreviewEnvArgs, opts?: pulumi.ComponentResourceOptions) {
    super("twinstack:index:PreviewEnv", name, {}, opts);
    const where = `PreviewEnv ${name}`;
    const { cpus, memoryMb } = args.limits ?? ({} as PreviewEnvArgs["limits"]);
    if (!(typeof cpus === "number" && cpus > 0)) throw new InvariantError(`${where}: limits.cpus must be a positive number, got ${cpus}`);
    if (!(Number.isInteger(memoryMb) && memoryMb > 0)) throw new InvariantError(`${where}: limits.memoryMb must be a positive whole number of MiB, got ${memoryMb}`);

    const slug = previewSlug(args.branch);
    const alias = `preview-${slug}`;
    this.slug = slug;
    this.networkAlias = alias;

    // The dev stack exports the handoff as one secret (it holds the Postgres admin password).
    // Only that password stays secret here; the rest names things and belongs in readable diffs.
    const raw = pulumi.output(args.handoff);
    const dev = pulumi.unsecret(
      raw.apply((h) => {
        checkPreviewHandoff(h, where, { cloneDevDatabase: args.cloneDevDatabase });
        return { ...h, postgres: { ...h.postgres, adminPassword: "", devDatabaseUrl: "" } };
      }),
    );
    const adminPassword = pulumi.secret(raw.apply((h) => h.postgres.adminPassword));
    const devDatabaseUrl = pulumi.secret(raw.apply((h) => h.postgres.devDatabaseUrl ?? ""));

    const provider = new docker.Provider(`${name}-docker`, { host: dev.dockerHost, sshOpts: dev.dockerSshOpts }, { parent: this });
    const onDevHost = { parent: this, provider };

    // PostgresDatabase takes its physical name as a plain string, and the app name in it only
    // exists once the handoff resolves: the database is declared when it does. StackReference
    // outputs are known during preview as well as update, so `pulumi preview` still shows it.
    const database = dev.apply((h) => {
      const databaseName = previewDatabaseName(h.appName, slug);
      const db = new PostgresDatabase(
        `${name}-db`,
        {
          databaseName,
          mode: "shared",
          protect: false,
          // Cloned by dump and restore (below), not CREATE DATABASE ... TEMPLATE: that needs dev to
          // have no other sessions (the dev app always has some) and the admin to own dev.
          extensions: args.cloneDevDatabase ? (h.postgres.extensions ?? []) : undefined,
          shared: {
            host: h.postgres.host,
            port: h.postgres.port,
            adminUser: h.postgres.adminUser,
            adminPassword,
            sslmode: h.postgres.sslmode,
            appHost: h.postgres.appHost,
            appPort: h.postgres.appPort,
          },
        },
        { parent: this },
      );
      return { databaseName: db.databaseName, connectionString: db.connectionString };
    });
    this.databaseName = database.apply((d) => d.databaseName);
    const connectionString = pulumi.secret(database.apply((d) => d.connectionString));

    this.image = pulumi.interpolate`${dev.imageRepository}:preview-${slug}`;
    // :preview-<slug> is re-pushed on every PR push: re-pull when the registry's digest for it changes
    // (https://www.pulumi.com/registry/packages/docker/api-docs/getregistryimage/).
    const digest = this.image.apply((ref) => docker.getRegistryImageOutput({ name: ref }, { provider, parent: this }).sha256Digest);
    const image = new docker.RemoteImage(`${name}-image`, { name: this.image, pullTriggers: [digest] }, onDevHost);

    // The app contract (model/appContract.ts) as in dev, with the preview's own database,
    // secrets, BASE_PATH and Redis prefix; no app.secretEnv (branch code is unreviewed). The list
    // holds the database password and the secrets, so it is secret as a whole.
    const sessionSecret = new random.RandomPassword(`${name}-session-secret`, { length: 48, special: false }, { parent: this });
    const jwtSecret = new random.RandomPassword(`${name}-jwt-secret`, { length: 48, special: false }, { parent: this });
    const envs = pulumi.all([dev.app, connectionString, sessionSecret.result, jwtSecret.result]).apply(([app, url, session, jwt]) =>
      appEnvironment({
        env: "preview",
        port: app.port,
        version: app.version,
        basePath: `/preview/${slug}`,
        redis: app.redisUrl ? { url: app.redisUrl, prefix: previewRedisPrefix(slug) } : undefined,
        features: app.features ?? {},
        env_: Object.fromEntries(Object.entries(app.env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
        databaseUrl: url,
        sessionSecret: session,
        jwtSecret: jwt,
      }),
    );
    // The dev app's health check: its own command, else the image-independent probe from the dev
    // host's probe volume (issue 13: node:*-slim and distroless images have no wget/curl/shell);
    // a handoff from an older dev stack has neither and keeps the shell check.
    const health = dev.app.apply((app) => {
      const none: WorkloadVolume[] = [];
      if (app.healthCheckCommand?.length) return { tests: ["CMD", ...app.healthCheckCommand], volumes: none };
      if (app.probeVolume) return { tests: httpProbeTest(app.port, app.healthPath), volumes: [{ volumeName: app.probeVolume, path: HEALTH_PROBE.mountPath, readOnly: true }] };
      const url = `http://127.0.0.1:${app.port}${app.healthPath}`;
      return { tests: ["CMD-SHELL", `wget -q -O /dev/null ${url} || curl -fsS -o /dev/null ${url}`], volumes: none };
    });

    // Clone dev: scripts/clone-db.sh in a client container on the dev network dumps dev as the dev
    // app role and restores into the preview database as the preview role (extensions stay the
    // admin's). tests/consumers/dbPrivileges.test.ts runs it on a real server with dev connected.
    let clone: command.local.Command | undefined;
    if (args.cloneDevDatabase) {
      // checkPreviewHandoff made sure the handoff has it.
      const clientImage = dev.postgres.apply((p) => p.clientImage as string);
      clone = new command.local.Command(
        `${name}-clone`,
        {
          create: CLONE_COMMAND,
          environment: {
            DOCKER_HOST: dev.dockerHost,
            NETWORK: dev.networkName,
            CLIENT_IMAGE: clientImage,
            CLONE_SOURCE_URL: devDatabaseUrl,
            DATABASE_URL: connectionString,
            CLONE_SH: readScript("clone-db.sh"),
            RESTORE_SH: readScript("restore.sh"),
          },
        },
        { parent: this },
      );
    }

    this.containerName = pulumi.interpolate`${dev.appName}-preview-${slug}`;
    const container = declareWorkload(
      `${name}-app`,
      {
        name: this.containerName,
        image: image.imageId,
        env: envs,
        network: { name: dev.networkName, aliases: [alias] },
        limits: { cpus, memoryMb },
        // No role label: a preview's container is found by its preview label.
        labels: { [LABELS.env]: "preview", [LABELS.preview]: slug },
        labelOrder: "given",
        volumes: health.volumes,
        healthcheck: { test: health.tests, startPeriodSeconds: 30 },
        // `pulumi up` fails on a preview that never becomes healthy (the helper waits for a
        // standalone health check), and the route (which depends on the container) is only
        // added once it is.
      },
      // A fixed name cannot exist twice: the helper replaces a named container by delete-then-create
      // (a preview may blink).
      { runtime: "standalone", provider, parent: this, dependsOn: clone ? [clone] : [] },
    );

    const snippet = dev.app.apply((app) => renderPreviewRoute({ slug, upstream: `${alias}:${app.port}` }));
    const scripts = pulumi
      .all([snippet, dev.proxy])
      .apply(([text, proxy]) => renderPreviewRouteScripts({ slug, snippet: text, proxyLabel: proxy.label, previewsDir: proxy.previewsDir }));
    // The route goes to every dev proxy: one per VIP node in a Swarm, else the one on the dev host.
    // The first keeps the name it always had. StackReference outputs are known in preview too.
    dev.apply((h) =>
      (h.proxy.dockerHosts ?? [h.dockerHost]).map(
        (dockerHost, i) =>
          new command.local.Command(
            i === 0 ? `${name}-route` : `${name}-route-${i}`,
            {
              create: scripts.create,
              delete: scripts.delete,
              environment: { DOCKER_HOST: dockerHost },
              triggers: [snippet],
            },
            // Delete first on replacement: both write the same <slug>.caddy, and the old one's delete
            // would otherwise remove the route the new one just installed.
            { parent: this, dependsOn: [container], deleteBeforeReplace: true },
          ),
      ),
    );

    // Dev's own HTTPS port (the default dev publishes 8443): the preview is served by the same proxy.
    this.url = dev.apply((h) => `https://${h.domain}${h.httpsPort === undefined || h.httpsPort === 443 ? "" : `:${h.httpsPort}`}/preview/${slug}/`);
    this.registerOutputs({
      slug,
      url: this.url,
      databaseName: this.databaseName,
      image: this.image,
      containerName: this.containerName,
    });
  }
}
