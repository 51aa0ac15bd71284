// A highly available PostgreSQL for one environment, built from existing engines: an etcd cluster
// (one member per host) as Patroni's DCS, Patroni members (one per host, each running the
// rendered patroni.yml) and HAProxy routing clients to the current leader through Patroni's REST
// health check (GET /primary). All of it runs as Swarm services on the env network, each member
// pinned to its host (node.labels.twinstack.host), its data on a volume of that host.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { HOST_NODE_LABEL } from "./swarm";
import { ETCD, HAPROXY, SPILO } from "./images";
import { renderHaproxyCfg } from "./render/haproxy";
import { renderEtcdMemberEnv, renderPatroniYml } from "./render/patroni";
import { WorkloadLimits, WorkloadSpec, declareWorkload } from "./workload";
import { InvariantError } from "./render/invariant";
import { LABELS } from "../model/labels";

/**
 * One member of the cluster: an etcd member and a Patroni member run on this Swarm node, with their
 * volumes on its Docker provider.
 */
export interface HaPostgresMember {
  /** Host name (the swarm node label twinstack.host). */
  host: string;
  /** Docker provider of that host: its volumes are created there. */
  dockerProvider: pulumi.ProviderResource;
}

/** Arguments of {@link HaPostgres} (runtime "swarm" only). */
export interface HaPostgresArgs {
  /** Physical name prefix carrying the env token, e.g. "twincigo-prod"; also the Patroni scope. */
  namePrefix: string;
  /** The env token; `namePrefix` must carry it, and a non-prod cluster needs `limits`. */
  env: string;
  /** The swarm manager: services are declared through it. */
  dockerProvider: pulumi.ProviderResource;
  /** The env network (an attachable overlay): members find each other by alias on it. */
  networkName: pulumi.Input<string>;
  /** One etcd member and one Patroni member per entry; an odd number, 3 to 7. */
  members: HaPostgresMember[];
  /** Spilo image (Patroni + PostgreSQL; model/images.ts SPILO, https://github.com/zalando/spilo). */
  patroniImage: pulumi.Input<string>;
  /** etcd image of the distributed configuration store Patroni elects its leader in (model/images.ts ETCD). */
  etcdImage: pulumi.Input<string>;
  /** HAProxy image that routes `port` to the current leader (model/images.ts HAPROXY). */
  haproxyImage: pulumi.Input<string>;
  /** HAProxy's leader port, inside the network and published on the hosts (the firewall decides who reaches it). */
  port: number;
  /** Publish the HAProxy port on the hosts (the operator's postgresql provider connects there). */
  publish: boolean;
  /** The superuser password (generated when absent). Secret. */
  superuserPassword?: pulumi.Input<string>;
  /** Per workload; required outside prod. */
  limits?: WorkloadLimits;
  /** Prod: protect the member volumes. */
  protect: boolean;
  /** Labels of the env's workloads (env, stack); each service adds its role. @default {} */
  labels?: Record<string, pulumi.Input<string>>;
}

/** Network alias of HAProxy: what app containers connect to. */
export const HA_POSTGRES_HOST = "postgres-ha";
/** The cluster's superuser login, set in the rendered patroni.yml (`authentication.superuser`); also the database's admin login. */
export const SUPERUSER = "postgres";
/** The login Patroni replicas stream from the leader with (`authentication.replication`; password generated, 32 characters). */
export const REPLICATION_USER = "replicator";
const PG_PORT = SPILO.ports.postgres;
const REST_PORT = 8008;
const ETCD_CLIENT_PORT = 2379;
const ETCD_PEER_PORT = 2380;
/** Spilo's layout: PGHOME is owned by postgres in the image, so a fresh named volume is too. */
export const PATRONI_DATA_MOUNT = SPILO.paths.pgHome;
const PATRONI_DATA_DIR = `${PATRONI_DATA_MOUNT}/pgroot/data`;
const PATRONI_BIN_DIR = SPILO.paths.binDir;
/** Where the rendered Patroni YAML is mounted in a member (model/images.ts SPILO.paths, with its source). */
export const PATRONI_CONFIG_PATH = SPILO.paths.patroniConfig;
/**
 * Where the rendered haproxy.cfg is mounted: the path the official image's CMD reads
 * (https://github.com/docker-library/haproxy, `haproxy -f /usr/local/etc/haproxy/haproxy.cfg`).
 */
export const HAPROXY_CONFIG_PATH = HAPROXY.paths.config;

const NAME_RE = /^[a-z][a-z0-9-]*[a-z0-9]$/;

/** Starts Patroni as postgres whether the container runs as root or already as postgres. */
export function patroniStartScript(): string {
  return [
    'if [ "$(id -u)" = 0 ]; then',
    `  mkdir -p ${PATRONI_DATA_MOUNT}/pgroot && chown -R postgres:postgres ${PATRONI_DATA_MOUNT}`,
    `  exec su postgres -s /bin/sh -c 'exec patroni ${PATRONI_CONFIG_PATH}'`,
    "fi",
    `exec patroni ${PATRONI_CONFIG_PATH}`,
  ].join("\n");
}

/**
 * An HA PostgreSQL cluster on a Swarm: per member an etcd service and a Patroni (Spilo) service with
 * its own volume, and one HAProxy service that routes `port` (TCP) to the leader, reached by the app as
 * {@link HA_POSTGRES_HOST}:`port` on the env network. Type token `twinstack:index:HaPostgres`.
 * Children: `${name}-superuser` (generated unless given), `${name}-replication` (random.RandomPassword),
 * member volumes, `etcd-<i>`, `patroni-<i>` and `haproxy` services (named from `name`).
 * @throws InvariantError when `namePrefix` lacks the env token, the member count is not odd in 3..7,
 * two members share a host, or a non-prod cluster has no limits.
 * @example
 * const ha = new HaPostgres("prod-ha-postgres", {
 *   namePrefix: "gigi-prod", env: "prod", dockerProvider: manager, networkName,
 *   members: ["n1", "n2", "n3"].map((host) => ({ host, dockerProvider: providers[host] })),
 *   patroniImage: SPILO.image, etcdImage: ETCD.image, haproxyImage: HAPROXY.image,
 *   port: 5000, publish: true, protect: true,
 * }, { parent: this });
 */
export class HaPostgres extends pulumi.ComponentResource {
  /** Where app containers reach the leader: HA_POSTGRES_HOST:port on the env network. */
  readonly appHost = HA_POSTGRES_HOST;
  readonly port: number;
  readonly superuser = SUPERUSER;
  readonly superuserPassword: pulumi.Output<string>;
  readonly etcdMembers: string[];
  readonly patroniMembers: string[];
  readonly haproxyCfg: string;

  constructor(name: string, args: HaPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("twinstack:index:HaPostgres", name, {}, opts);
    const fail = (message: string): never => {
      throw new InvariantError(`HaPostgres ${name}: ${message}`);
    };
    const prefix = args.namePrefix;
    if (!NAME_RE.test(prefix) || !prefix.split("-").includes(args.env)) fail(`namePrefix ${JSON.stringify(prefix)} must carry the env token ${JSON.stringify(args.env)}`);
    const n = args.members.length;
    if (n < 3 || n > 7 || n % 2 === 0) fail(`needs an odd number of members from 3 to 7 (etcd quorum), got ${n}`);
    if (new Set(args.members.map((m) => m.host)).size !== n) fail("members must be on distinct hosts");
    if (args.env !== "prod" && !args.limits) fail(`a ${args.env} cluster needs limits`);
    this.port = args.port;

    const superuser = args.superuserPassword
      ? pulumi.secret(pulumi.output(args.superuserPassword))
      : new random.RandomPassword(`${name}-superuser`, { length: 32, special: false }, { parent: this }).result;
    const replication = new random.RandomPassword(`${name}-replication`, { length: 32, special: false }, { parent: this }).result;
    this.superuserPassword = pulumi.secret(superuser);

    const labels = { ...(args.labels ?? {}) };
    const put = (logical: string, spec: WorkloadSpec, dependsOn?: pulumi.Resource[]) =>
      declareWorkload(
        `${name}-${logical}`,
        { ...spec, labels: { ...labels, ...(spec.labels ?? {}) } },
        { runtime: "swarm", provider: args.dockerProvider, parent: this, dependsOn },
      );
    const volume = (member: HaPostgresMember, part: string) =>
      new docker.Volume(
        `${name}-${part}`,
        { name: `${prefix}-${part}`, labels: [{ label: LABELS.env, value: args.env }] },
        { parent: this, provider: member.dockerProvider, protect: args.protect },
      );
    const pin = (member: HaPostgresMember) => [`node.labels.${HOST_NODE_LABEL}==${member.host}`];

    // ---- etcd: the DCS ----
    // One member down is fine: a majority keeps quorum, and the initial-cluster flags (peers named
    // by alias) are used only to bootstrap; a member restarting on its data ignores them
    // (https://etcd.io/docs/v3.5/op-guide/clustering/, "--initial-cluster* flags ... ignored on
    // subsequent runs of etcd"), so an unresolvable peer name never blocks a restart.
    const etcdName = (i: number) => `etcd-${i + 1}`;
    const etcdPeers = args.members.map((_, i) => ({ name: etcdName(i), peerUrl: `http://${etcdName(i)}:${ETCD_PEER_PORT}` }));
    this.etcdMembers = args.members.map((_, i) => `${prefix}-etcd-${i + 1}`);
    const etcd = args.members.map((member, i) => {
      const env = renderEtcdMemberEnv({
        name: etcdName(i),
        clientUrl: `http://${etcdName(i)}:${ETCD_CLIENT_PORT}`,
        peerUrl: etcdPeers[i].peerUrl,
        members: etcdPeers,
        clusterToken: `${prefix}-etcd`,
      });
      // etcd binds to IPs only: listen on all, advertise the alias.
      env.ETCD_LISTEN_CLIENT_URLS = `http://0.0.0.0:${ETCD_CLIENT_PORT}`;
      env.ETCD_LISTEN_PEER_URLS = `http://0.0.0.0:${ETCD_PEER_PORT}`;
      const data = volume(member, `etcd-${i + 1}-data`);
      return put(`etcd-${i + 1}`, {
        name: `${prefix}-etcd-${i + 1}`,
        role: "etcd",
        image: args.etcdImage,
        env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        network: { name: args.networkName, aliases: [etcdName(i)] },
        volumes: [{ volumeName: data.name, path: env.ETCD_DATA_DIR }],
        limits: args.limits,
        // The etcd image is distroless (no shell): etcdctl, exec form.
        healthcheck: { test: ["CMD", ...ETCD.health!] },
        constraints: pin(member),
        labels: { [LABELS.host]: member.host },
      });
    });

    // ---- Patroni members ----
    const pgName = (i: number) => `pg-${i + 1}`;
    this.patroniMembers = args.members.map((_, i) => `${prefix}-patroni-${i + 1}`);
    const patroni = args.members.map((member, i) => {
      const config = pulumi.secret(
        pulumi.all([superuser, replication]).apply(([superPassword, replicationPassword]) =>
          renderPatroniYml({
            scope: prefix,
            name: pgName(i),
            restApi: { listen: `0.0.0.0:${REST_PORT}`, connectAddress: `${pgName(i)}:${REST_PORT}` },
            etcdHosts: etcdPeers.map((p) => `${p.name}:${ETCD_CLIENT_PORT}`),
            postgres: { listen: `0.0.0.0:${PG_PORT}`, connectAddress: `${pgName(i)}:${PG_PORT}`, dataDir: PATRONI_DATA_DIR, binDir: PATRONI_BIN_DIR },
            superuser: { username: SUPERUSER, password: superPassword },
            replication: { username: REPLICATION_USER, password: replicationPassword },
          }),
        ),
      );
      const data = volume(member, `patroni-${i + 1}-data`);
      return put(
        `patroni-${i + 1}`,
        {
          name: `${prefix}-patroni-${i + 1}`,
          role: "patroni",
          image: args.patroniImage,
          // Patroni itself on our patroni.yml (not the image's own launcher), as postgres: started as
          // root, it first hands the data volume to postgres (a fresh volume may be root's).
          command: ["/bin/sh", "-c", patroniStartScript()],
          network: { name: args.networkName, aliases: [pgName(i)] },
          volumes: [{ volumeName: data.name, path: PATRONI_DATA_MOUNT }],
          // It holds the superuser and replication passwords.
          files: [{ path: PATRONI_CONFIG_PATH, content: config, secret: true }],
          limits: args.limits,
          healthcheck: { test: ["CMD-SHELL", `curl -fsS -o /dev/null http://127.0.0.1:${REST_PORT}/health`], startPeriodSeconds: 60 },
          constraints: pin(member),
          labels: { [LABELS.host]: member.host },
        },
        etcd,
      );
    });

    // ---- HAProxy: always the leader ----
    this.haproxyCfg = renderHaproxyCfg({
      listenPort: args.port,
      members: args.members.map((_, i) => ({ name: pgName(i), host: pgName(i), pgPort: PG_PORT, restApiPort: REST_PORT })),
    });
    put(
      "haproxy",
      {
        name: `${prefix}-haproxy`,
        role: "haproxy",
        image: args.haproxyImage,
        network: { name: args.networkName, aliases: [HA_POSTGRES_HOST] },
        ports: args.publish ? [{ internal: args.port, external: args.port }] : undefined,
        files: [{ path: HAPROXY_CONFIG_PATH, content: this.haproxyCfg }],
        limits: args.limits,
        // The config check no longer depends on every member's alias resolving (init-addr ... none):
        // one member down leaves HAProxy healthy (tests/consumers/haproxy.test.ts).
        healthcheck: { test: ["CMD", ...HAPROXY.health!] },
        // Declared after the members so a first deploy finds them; a later missing member is fine.
      },
      patroni,
    );

    this.registerOutputs({ etcdMembers: this.etcdMembers, patroniMembers: this.patroniMembers, port: this.port });
  }
}
