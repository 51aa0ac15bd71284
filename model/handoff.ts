// What the dev stack exports for its previews (stack output `previewHandoff`), read by preview
// stacks through a StackReference. One type, so both sides agree.

export interface PreviewHandoff {
  appName: string;
  /** Docker endpoint of the dev host previews run on (unix:// or ssh://). */
  dockerHost: string;
  /** SSH options for an ssh:// docker host. */
  dockerSshOpts: string[];
  /** Dev env network previews join. */
  networkName: string;
  /** Dev Postgres server as seen by the postgresql provider (admin) and by app containers. */
  postgres: {
    host: string;
    port: number;
    /** Host name app containers use to reach the server on the dev network. */
    appHost: string;
    appPort: number;
    adminUser: string;
    /** Secret in the dev stack's outputs. */
    adminPassword: string;
    sslmode: string;
    /** The dev database, template for previews that clone it. */
    devDatabase: string;
    /** The dev app role's URL as seen on the dev network: previews that clone dev dump it as that role (secret). */
    devDatabaseUrl?: string;
    /** Image with pg_dump/pg_restore of the server's major (the backup client), for cloning. */
    clientImage?: string;
    /** postgres.extensions of dev: a cloned preview database gets them from the admin first. */
    extensions?: string[];
  };
  proxy: {
    /** Docker label value that finds the dev Caddy container: label twinstack.proxy=<value>. */
    label: string;
    /** Directory inside the Caddy container whose *.caddy files the dev site imports. */
    previewsDir: string;
    /**
     * Docker endpoints of every host running a dev proxy container, when there is one per node (a
     * Swarm with a VIP: each VIP node serves the site, so each needs the preview's route). Absent:
     * the one proxy on `dockerHost`.
     */
    dockerHosts?: string[];
  };
  /** The dev site's main domain; previews live at https://<domain>[:<httpsPort>]/preview/<slug>/. */
  domain: string;
  /** The dev proxy's published HTTPS port (443 unless dev moved it, e.g. 8443); absent from older dev stacks = 443. */
  httpsPort?: number;
  /** Image repository without tag; previews run <repo>:preview-<slug>. */
  imageRepository: string;
  app: {
    port: number;
    healthPath: string;
    /** Dev's app.env (the preview sets APP_ENV itself). */
    env: Record<string, string>;
    /** Dev's app.features, app.version and Redis URL (absent from older dev stacks). */
    features?: Record<string, boolean>;
    version?: string;
    redisUrl?: string;
    /** The app image's own exec-form health check (app.healthCheck.command), if any. */
    healthCheckCommand?: string[];
    /** Docker volume with the static health probe on the dev host (model/images.ts HEALTH_PROBE), when no command is given. */
    probeVolume?: string;
  };
}
