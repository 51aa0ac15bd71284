// The one table of facts about the third-party images twinstack runs by default: reference,
// listening ports, data and config paths, the user each runs as, and a health check that only uses
// tools the image ships. Components read these facts from here; docs/images.md lists the same facts
// with their sources, and tests/images.test.ts checks the declared containers and services against
// this table. Every fact names its source (the image's Dockerfile or documentation).

/** What the program relies on about a third-party image, each fact with its source URL in `sources`. */
export interface ImageFacts {
  /** Default image reference (a stack key may override it). */
  image: string;
  /** Ports the process listens on inside the container. */
  ports: Record<string, number>;
  /** Paths inside the container the program mounts or writes. */
  paths: Record<string, string>;
  /** The user the main process runs as ("uid:gid", or a name when the image's entrypoint drops to it). */
  user: string;
  /** Docker health check (exec form, no shell unless the image has one), or undefined when none is declared. */
  health?: string[];
  /** Where each fact comes from. */
  sources: string[];
}

/** Official postgres image (Debian and Alpine variants): https://hub.docker.com/_/postgres */
export const POSTGRES: ImageFacts = {
  image: "postgres:16-alpine",
  ports: { postgres: 5432 },
  // PGDATA is a subdirectory of the mount: postgres 18 images refuse a mount at .../data itself.
  paths: { dataMount: "/var/lib/postgresql/data", initDir: "/docker-entrypoint-initdb.d" },
  // The entrypoint starts as root, chowns PGDATA and re-executes itself as postgres (gosu/su-exec).
  user: "postgres, dropped to by the entrypoint (gosu / su-exec)",
  health: ["pg_isready", "-h", "127.0.0.1"],
  sources: [
    "https://github.com/docker-library/postgres/blob/master/16/alpine3.20/Dockerfile (EXPOSE 5432, VOLUME /var/lib/postgresql/data, ENV PGDATA)",
    "https://github.com/docker-library/postgres/blob/master/docker-entrypoint.sh (POSTGRES_USER/POSTGRES_DB/POSTGRES_PASSWORD, /docker-entrypoint-initdb.d, gosu/su-exec to postgres)",
  ],
};

/** Official redis image: https://hub.docker.com/_/redis */
export const REDIS: ImageFacts = {
  image: "redis:7-alpine",
  ports: { redis: 6379 },
  paths: { data: "/data" },
  user: "redis, dropped to by the entrypoint, which first chowns /data",
  health: ["redis-cli", "ping"],
  sources: [
    "https://github.com/docker-library/redis/blob/master/7.4/alpine/Dockerfile (VOLUME /data, WORKDIR /data, EXPOSE 6379, redis-cli installed)",
    "https://github.com/docker-library/redis/blob/master/7.4/alpine/docker-entrypoint.sh",
  ],
};

/** eclipse-mosquitto 2.x: https://hub.docker.com/_/eclipse-mosquitto */
export const MOSQUITTO: ImageFacts = {
  image: "eclipse-mosquitto:2",
  ports: { mqtts: 8883 },
  paths: { config: "/mosquitto/config/mosquitto.conf", data: "/mosquitto/data", certs: "/mosquitto/certs" },
  // Mosquitto 2 drops root before it reads certificates and keys, so they must be readable by 1883.
  user: "1883:1883",
  sources: [
    "https://github.com/eclipse/mosquitto/blob/master/docker/2.0/Dockerfile (user mosquitto 1883:1883, /mosquitto/{config,data,log}, CMD -c /mosquitto/config/mosquitto.conf)",
    "https://github.com/eclipse/mosquitto/blob/master/docker/2.0/docker-entrypoint.sh (as root: chown -R mosquitto /mosquitto)",
    "https://github.com/eclipse/mosquitto/blob/master/README-letsencrypt.md (drops root before loading certificates)",
  ],
};

/** Official caddy image (alpine), the env's reverse proxy: https://hub.docker.com/_/caddy */
export const CADDY: ImageFacts = {
  image: "caddy:2.8-alpine",
  ports: { http: 80, https: 443, admin: 2019 },
  paths: { caddyfile: "/etc/caddy/Caddyfile", data: "/data", config: "/config" },
  user: "0:0",
  health: ["caddy", "version"],
  sources: [
    "https://github.com/caddyserver/caddy-docker/blob/master/2.8/alpine/Dockerfile (EXPOSE 80 443 2019, XDG_DATA_HOME=/data, XDG_CONFIG_HOME=/config, CMD caddy run --config /etc/caddy/Caddyfile)",
    "https://caddyserver.com/docs/conventions#file-locations",
  ],
};

/** The static-file vault: the same caddy image, `caddy file-server`. */
export const VAULT_CADDY: ImageFacts = {
  ...CADDY,
  image: "caddy:2-alpine",
  ports: { http: 8080 },
  paths: { root: "/srv" },
  sources: [...CADDY.sources, "https://caddyserver.com/docs/command-line#caddy-file-server (--root, --listen)"],
};

/** Rootless Gitea: data in /var/lib/gitea, config in /etc/gitea, built-in SSH on 2222, as git (1000:1000). */
export const GITEA: ImageFacts = {
  image: "gitea/gitea:1.22-rootless",
  ports: { http: 3000, ssh: 2222 },
  paths: { data: "/var/lib/gitea", config: "/etc/gitea" },
  user: "1000:1000",
  health: ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:3000/api/healthz"],
  sources: [
    "https://github.com/go-gitea/gitea/blob/release/v1.22/Dockerfile.rootless (EXPOSE 2222 3000, USER 1000:1000, VOLUME /var/lib/gitea /etc/gitea, GITEA_APP_INI=/etc/gitea/app.ini, curl installed)",
    "https://github.com/go-gitea/gitea/blob/release/v1.22/docker/rootless/etc/templates/app.ini (START_SSH_SERVER=true, SSH_LISTEN_PORT=2222)",
    "https://docs.gitea.com/installation/install-with-docker-rootless (GITEA__section__KEY environment, ports 3000/2222)",
  ],
};

/** Rootless Forgejo: the same layout as rootless Gitea. */
export const FORGEJO: ImageFacts = {
  ...GITEA,
  image: "codeberg.org/forgejo/forgejo:9-rootless",
  sources: [
    "https://codeberg.org/forgejo/forgejo/src/branch/forgejo/Dockerfile.rootless (EXPOSE 2222 3000, USER 1000:1000, VOLUME /var/lib/gitea /etc/gitea, curl installed)",
    "https://forgejo.org/docs/latest/admin/installation/docker/ (rootless image, GITEA__ / FORGEJO__ environment)",
  ],
};

/** Gitea's act_runner: registers itself from GITEA_* variables on first start, state in /data. */
export const ACT_RUNNER: ImageFacts = {
  image: "gitea/act_runner:0.2.11",
  ports: {},
  paths: { data: "/data", dockerSocket: "/var/run/docker.sock" },
  user: "0:0",
  sources: [
    "https://gitea.com/gitea/act_runner/src/tag/v0.2.11/Dockerfile (ENTRYPOINT run.sh, VOLUME /data)",
    "https://gitea.com/gitea/act_runner/src/tag/v0.2.11/scripts/run.sh (GITEA_INSTANCE_URL, GITEA_RUNNER_REGISTRATION_TOKEN, GITEA_RUNNER_NAME, GITEA_RUNNER_LABELS; .runner in /data)",
    "https://docs.gitea.com/usage/actions/act-runner#start-the-runner-with-docker",
  ],
};

/**
 * Forgejo's runner: no registration from the environment (the image just runs forgejo-runner as
 * uid 1000); it must be registered with `forgejo-runner register --no-interactive` and then run
 * `forgejo-runner daemon`, from its working directory /data where `.runner` is kept.
 */
export const FORGEJO_RUNNER: ImageFacts = {
  image: "code.forgejo.org/forgejo/runner:6.3.1",
  ports: {},
  paths: { data: "/data", dockerSocket: "/var/run/docker.sock" },
  // The image's own user is 1000, which cannot open the host's root:docker docker.sock: run as root.
  user: "0:0",
  sources: [
    "https://forgejo.org/docs/latest/admin/actions/installation/docker/ (does not run as root: uid=1000; `forgejo-runner daemon`; /data)",
    "https://forgejo.org/docs/latest/admin/actions/registration/ (forgejo-runner register --no-interactive --instance --token --name --labels; .runner file)",
  ],
};

/** browserless/chrome 1.x: HTTP/WebSocket API on 3000, as blessuser. */
export const BROWSERLESS: ImageFacts = {
  image: "browserless/chrome:1.61-puppeteer-21.4.1",
  ports: { http: 3000 },
  paths: {},
  user: "blessuser",
  sources: ["https://github.com/browserless/browserless/blob/v1/Dockerfile (ENV PORT=3000, USER blessuser, EXPOSE 3000)", "https://docs.browserless.io/docker/config (PORT)"],
};

/**
 * osixia/keepalived: alpine with busybox (nc, wget, ip, sed) for the track script and entrypoint;
 * curl (kept installed by its Dockerfile) for a cloud VIP's notify_master; our config via --use-file.
 */
export const KEEPALIVED: ImageFacts = {
  image: "osixia/keepalived:2.0.20",
  ports: {},
  paths: { config: "/etc/keepalived/twinstack.conf" },
  user: "0:0 (needs NET_ADMIN, NET_BROADCAST, NET_RAW and the host network)",
  sources: [
    "https://github.com/osixia/docker-keepalived/blob/v2.0.20/image/Dockerfile (FROM osixia/light-baseimage:alpine-0.1.6-dev, builds keepalived 2.0.20; apk add curl, not in its apk del list)",
    "https://keepalived.readthedocs.io/en/latest/programs_synopsis.html (--use-file, --dont-fork, --log-console, --vrrp)",
  ],
};

/** Spilo (Patroni + PostgreSQL 16) by Zalando. */
export const SPILO: ImageFacts = {
  image: "ghcr.io/zalando/spilo-16:3.2-p3",
  ports: { postgres: 5432, patroniRest: 8008 },
  paths: { pgHome: "/home/postgres/pgdata", binDir: "/usr/lib/postgresql/16/bin", patroniConfig: "/etc/patroni/patroni.yml" },
  user: "root at start; Patroni and PostgreSQL run as postgres (components/haPostgres.ts patroniStartScript)",
  health: ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8008/health"],
  sources: [
    "https://github.com/zalando/spilo/blob/master/postgres-appliance/Dockerfile (PGHOME=/home/postgres, PGDATA=$PGHOME/pgdata/pgroot/data, curl installed, EXPOSE 5432 8008)",
    "https://patroni.readthedocs.io/en/latest/rest_api.html (GET /health, /primary, /replica)",
  ],
};

/** etcd's release image: distroless, no shell; etcd and etcdctl are on the PATH. */
export const ETCD: ImageFacts = {
  image: "quay.io/coreos/etcd:v3.5.15",
  ports: { client: 2379, peer: 2380 },
  paths: { data: "/var/lib/etcd" },
  user: "0:0",
  health: ["etcdctl", "--endpoints=http://127.0.0.1:2379", "endpoint", "health"],
  sources: [
    "https://github.com/etcd-io/etcd/blob/v3.5.15/Dockerfile-release.amd64 (FROM gcr.io/distroless/static-debian11, /usr/local/bin/etcd and etcdctl, EXPOSE 2379 2380)",
    "https://etcd.io/docs/v3.5/op-guide/configuration/ (ETCD_* variables)",
  ],
};

/** Official haproxy image (alpine): runs as the unprivileged haproxy user, config in /usr/local/etc/haproxy. */
export const HAPROXY: ImageFacts = {
  image: "haproxy:2.9-alpine",
  ports: { postgres: 5000 },
  paths: { config: "/usr/local/etc/haproxy/haproxy.cfg" },
  user: "99:99 (haproxy)",
  // The config check needs no member to resolve (init-addr last,libc,none; components/render/haproxy.ts).
  health: ["haproxy", "-c", "-q", "-f", "/usr/local/etc/haproxy/haproxy.cfg"],
  sources: ["https://github.com/docker-library/haproxy/blob/master/2.9/alpine/Dockerfile (USER haproxy uid 99, CMD haproxy -f /usr/local/etc/haproxy/haproxy.cfg)"],
};

/**
 * The backup job's default client image. pg_dump refuses a server newer than itself ("aborting
 * because of server version mismatch"), so its major must be >= the server's: in dedicated mode
 * the server's own image is used; on a shared server the client is postgres:<postgres.version>-alpine.
 */
export const BACKUP_CLIENT = {
  ...POSTGRES,
  /** The default major of a shared server when `postgres.version` is not set. */
  defaultMajor: 16,
  imageFor: (major: number) => `postgres:${major}-alpine`,
  sources: [...POSTGRES.sources, "https://www.postgresql.org/docs/current/app-pgdump.html (pg_dump cannot dump from servers newer than its own major version)"],
};

/** Gitea or Forgejo by kind. */
export const FORGE_IMAGES = { gitea: GITEA, forgejo: FORGEJO } as const;
/** The CI runner image that goes with each forge kind (`gitea.kind`): Gitea's act_runner or the Forgejo runner. */
export const FORGE_RUNNER_IMAGES = { gitea: ACT_RUNNER, forgejo: FORGEJO_RUNNER } as const;

/** The PostgreSQL major in a postgres-like image (postgres:17-alpine, pgvector/pgvector:pg16, .../spilo-16:3.2), if it shows one. */
export function postgresMajorOf(image: string): number | undefined {
  const ref = image.split("@")[0];
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  const repo = colon > slash ? ref.slice(0, colon) : ref;
  const tag = colon > slash ? ref.slice(colon + 1) : "";
  const fromTag = /^(?:pg)?(\d{1,2})(?:$|[.\-])/.exec(tag);
  if (fromTag && /(^|\/)(postgres|postgis|pgvector|timescaledb[\w-]*)$/.test(repo)) return Number(fromTag[1]);
  const fromRepo = /spilo-(\d{1,2})$/.exec(repo);
  return fromRepo ? Number(fromRepo[1]) : undefined;
}

/**
 * The app's default health check needs nothing inside the app image: a statically linked busybox
 * (the official busybox:*-musl images are built with CONFIG_STATIC=y) is copied into a named volume
 * on each Docker host by a small seeder (a container, or a global Swarm service so every node has
 * it), and the app mounts that volume read-only and runs `busybox wget` against itself. busybox wget
 * exits non-zero on a connection error or an HTTP status >= 400. The check runs inside the app's
 * own container, so `pulumi up`'s wait for healthy (standalone) and Swarm's start-first update
 * gating (both read the container's health status) see it.
 */
export const HEALTH_PROBE = {
  image: "busybox:1.37-musl",
  /** Where the app container sees the probe volume (read-only). */
  mountPath: "/.twinstack-probe",
  binary: "/.twinstack-probe/busybox",
  sources: [
    "https://github.com/docker-library/busybox/blob/master/latest/musl/Dockerfile.builder (CONFIG_STATIC=y)",
    "https://busybox.net/downloads/BusyBox.html#wget",
    "https://docs.docker.com/reference/dockerfile/#healthcheck (the check runs inside the container; exit 0 healthy, 1 unhealthy)",
  ],
};

/** The exec-form test of the default app health check: GET http://127.0.0.1:<port><path>, no shell. */
export function httpProbeTest(port: number, path: string): string[] {
  // No -T: Docker's health check timeout (5 s, components/workload.ts) bounds it, and busybox
  // 1.35's `wget -T` segfaults (found by tests/consumers/healthProbe.test.ts).
  return ["CMD", HEALTH_PROBE.binary, "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${port}${path}`];
}

/**
 * Default images of the monitoring parts (`monitoring.images.*`); their ports, paths and flags,
 * with sources, are in components/monitoring.ts's header.
 */
export const MONITORING_IMAGES = {
  prometheus: "prom/prometheus:v2.53.2",
  alertmanager: "prom/alertmanager:v0.27.0",
  blackbox: "prom/blackbox-exporter:v0.25.0",
  nodeExporter: "prom/node-exporter:v1.8.2",
  cadvisor: "gcr.io/cadvisor/cadvisor:v0.49.1",
  postgresExporter: "quay.io/prometheuscommunity/postgres-exporter:v0.15.0",
} as const;
