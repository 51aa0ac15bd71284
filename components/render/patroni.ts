// patroni.yml for one member of a Patroni cluster, and the etcd environment for one member of
// its DCS. Pure: no Pulumi imports. The rendered patroni.yml holds the superuser and
// replication passwords: callers must treat it as a secret.
//
// DCS is etcd through the v3 API (`etcd3`): etcd 3.4+ disables the v2 API by default.
// pg_hba defaults to scram-sha-256 from private (RFC 1918) ranges and loopback only; the policy
// pack separately forbids opening Postgres to the world.

import { RenderInvariantError } from "./invariant";
import YAML from "yaml";

/** A PostgreSQL login Patroni uses or creates: role name (lower-case identifier) and password (secret). */
export interface PatroniCredentials {
  username: string;
  password: string;
}

/** Input of {@link renderPatroniYml} (https://patroni.readthedocs.io/en/latest/yaml_configuration.html). */
export interface PatroniYmlArgs {
  /** Cluster name, shared by all members, e.g. "twincigo-prod". */
  scope: string;
  /** This member's name, unique in the cluster, e.g. "pg-1". */
  name: string;
  /** DCS key prefix; default "/service/". */
  namespace?: string;
  /** Patroni's REST API: `listen` `host:port` to bind, `connectAddress` `host:port` the others and HAProxy reach it on. */
  restApi: { listen: string; connectAddress: string };
  /** etcd client endpoints "host:port". */
  etcdHosts: string[];
  /**
   * PostgreSQL: `listen` and `connectAddress` (`host:port`), the data directory, and the binaries'
   * directory (absent: Patroni finds them on PATH, per the `bin_dir` entry of
   * https://patroni.readthedocs.io/en/latest/yaml_configuration.html).
   */
  postgres: { listen: string; connectAddress: string; dataDir: string; binDir?: string };
  /** The superuser Patroni bootstraps the cluster with and connects as. */
  superuser: PatroniCredentials;
  /** The replication login replicas stream with. */
  replication: PatroniCredentials;
  /** pg_rewind user; default: the superuser (Patroni then creates no extra role). */
  rewind?: PatroniCredentials;
  /**
   * pg_hba.conf lines; @default scram-sha-256 for local connections and, from
   * {@link DEFAULT_PG_HBA_SOURCES}, for replication and all databases.
   */
  pgHba?: string[];
}

/** One member of the static etcd cluster: its name and peer URL (`http://host:2380`). */
export interface EtcdMember {
  name: string;
  peerUrl: string;
}

/** Input of {@link renderEtcdMemberEnv} (https://etcd.io/docs/v3.5/op-guide/configuration/). */
export interface EtcdMemberEnvArgs {
  /** This member's name (ETCD_NAME), one of `members`. */
  name: string;
  /** The URL clients reach this member on (ETCD_ADVERTISE_CLIENT_URLS), `http://host:port`. */
  clientUrl: string;
  /** The URL peers reach this member on (ETCD_INITIAL_ADVERTISE_PEER_URLS), `http://host:port`. */
  peerUrl: string;
  /** Every member of the cluster, this one included (ETCD_INITIAL_CLUSTER). */
  members: EtcdMember[];
  /** ETCD_INITIAL_CLUSTER_TOKEN: distinct per cluster so two clusters never join each other. */
  clusterToken: string;
  /** "new" when bootstrapping the cluster (default), "existing" when adding a member to one. */
  clusterState?: "new" | "existing";
  /** Default /var/lib/etcd. */
  dataDir?: string;
}

/** A patroni.yml or etcd env renderer invariant failed; the message names the file and the value. */
export class PatroniConfigError extends RenderInvariantError {
  constructor(message: string) {
    super(message);
    this.name = "PatroniConfigError";
  }
}

function fail(message: string): never {
  throw new PatroniConfigError(message);
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const PG_ROLE_RE = /^[a-z_][a-z0-9_]{0,62}$/;
const HOST = String.raw`(?:\*|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])`;
const HOST_PORT_RE = new RegExp(`^${HOST}:([0-9]{1,5})$`);
// Patroni refuses these as connect addresses: other members could never reach them.
const LOCAL_HOSTS = new Set(["127.0.0.1", "0.0.0.0", "*", "::1", "[::1]", "localhost"]);

function checkHostPort(value: string, field: string): void {
  const m = HOST_PORT_RE.exec(value);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) fail(`patroni.yml: ${field} ${JSON.stringify(value)} must be host:port`);
}

function checkConnectAddress(value: string, field: string): void {
  checkHostPort(value, field);
  const host = value.slice(0, value.lastIndexOf(":"));
  if (LOCAL_HOSTS.has(host)) {
    fail(`patroni.yml: ${field} ${JSON.stringify(value)} must be an address other members can reach, not ${host}`);
  }
}

function checkCredentials(c: PatroniCredentials | undefined, field: string): void {
  if (!c || !PG_ROLE_RE.test(c.username)) {
    fail(`patroni.yml: ${field}.username ${JSON.stringify(c?.username)} must be a plain lower-case Postgres role name`);
  }
  // Never put the password in the message.
  if (typeof c.password !== "string" || c.password.length < 12) fail(`patroni.yml: ${field}.password must be at least 12 characters`);
  if (/[\r\n\0]/.test(c.password)) fail(`patroni.yml: ${field}.password must be a single line`);
}

/**
 * Sources the default pg_hba admits (scram-sha-256): loopback and the private IPv4 ranges of RFC 1918
 * (the env's Docker networks are among them).
 */
export const DEFAULT_PG_HBA_SOURCES = ["127.0.0.1/32", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

function defaultPgHba(replicationUser: string): string[] {
  return [
    "local all all scram-sha-256",
    ...DEFAULT_PG_HBA_SOURCES.map((cidr) => `host replication ${replicationUser} ${cidr} scram-sha-256`),
    ...DEFAULT_PG_HBA_SOURCES.map((cidr) => `host all all ${cidr} scram-sha-256`),
  ];
}

/**
 * One member's patroni.yml (YAML). Holds the superuser and replication passwords: callers keep it a
 * secret. Pure; checked by the real `patroni --validate-config` in tests.
 * @throws PatroniConfigError on a bad scope, name, namespace, address, role, data dir or pg_hba line.
 */
export function renderPatroniYml(args: PatroniYmlArgs): string {
  if (!NAME_RE.test(args.scope)) fail(`patroni.yml: scope ${JSON.stringify(args.scope)} must match ${NAME_RE}`);
  if (!NAME_RE.test(args.name)) fail(`patroni.yml: name ${JSON.stringify(args.name)} must match ${NAME_RE}`);
  const namespace = args.namespace ?? "/service/";
  if (!/^\/(?:[A-Za-z0-9_.-]+\/)*$/.test(namespace)) {
    fail(`patroni.yml: namespace ${JSON.stringify(namespace)} must look like "/service/"`);
  }
  checkHostPort(args.restApi.listen, "restApi.listen");
  checkConnectAddress(args.restApi.connectAddress, "restApi.connectAddress");
  if (!Array.isArray(args.etcdHosts) || args.etcdHosts.length === 0) fail("patroni.yml: etcdHosts must list at least one etcd endpoint");
  args.etcdHosts.forEach((h, i) => checkHostPort(h, `etcdHosts[${i}]`));
  checkHostPort(args.postgres.listen, "postgres.listen");
  checkConnectAddress(args.postgres.connectAddress, "postgres.connectAddress");
  if (!args.postgres.dataDir.startsWith("/")) fail(`patroni.yml: postgres.dataDir ${JSON.stringify(args.postgres.dataDir)} must be absolute`);
  if (args.postgres.binDir !== undefined && !args.postgres.binDir.startsWith("/")) {
    fail(`patroni.yml: postgres.binDir ${JSON.stringify(args.postgres.binDir)} must be absolute`);
  }
  checkCredentials(args.superuser, "superuser");
  checkCredentials(args.replication, "replication");
  if (args.rewind) checkCredentials(args.rewind, "rewind");
  if (args.replication.username === args.superuser.username) {
    fail("patroni.yml: replication.username must differ from superuser.username");
  }
  const pgHba = args.pgHba ?? defaultPgHba(args.replication.username);
  if (pgHba.length === 0) fail("patroni.yml: pgHba must not be empty (Postgres would refuse every connection)");
  pgHba.forEach((line, i) => {
    if (/[\r\n]/.test(line) || line.trim() === "") fail(`patroni.yml: pgHba[${i}] must be one non-empty line`);
    if (/\btrust\s*$/.test(line)) fail(`patroni.yml: pgHba[${i}] ${JSON.stringify(line)} uses trust; use scram-sha-256`);
  });

  const postgresql: Record<string, unknown> = {
    listen: args.postgres.listen,
    connect_address: args.postgres.connectAddress,
    data_dir: args.postgres.dataDir,
  };
  if (args.postgres.binDir !== undefined) postgresql.bin_dir = args.postgres.binDir;
  Object.assign(postgresql, {
    authentication: {
      superuser: { ...args.superuser },
      replication: { ...args.replication },
      // Patroni 3.0's config validator insists on a rewind entry; the superuser is what Patroni
      // would use anyway when none is given, and it then creates no separate role.
      rewind: { ...(args.rewind ?? args.superuser) },
    },
    pg_hba: [...pgHba],
    parameters: { password_encryption: "scram-sha-256" },
  });

  const doc = {
    scope: args.scope,
    namespace,
    name: args.name,
    restapi: { listen: args.restApi.listen, connect_address: args.restApi.connectAddress },
    etcd3: { hosts: [...args.etcdHosts] },
    bootstrap: {
      dcs: {
        ttl: 30,
        loop_wait: 10,
        retry_timeout: 10,
        // 1 MiB: a replica further behind than this is not promoted.
        maximum_lag_on_failover: 1048576,
        postgresql: {
          use_pg_rewind: true,
          use_slots: true,
          parameters: {
            password_encryption: "scram-sha-256",
            wal_level: "replica",
            hot_standby: "on",
            max_wal_senders: 10,
            max_replication_slots: 10,
            wal_log_hints: "on",
          },
        },
      },
      initdb: [{ encoding: "UTF8" }, { locale: "C.UTF-8" }, "data-checksums"],
      // Patroni 3.0's validator requires bootstrap.pg_hba; keep it equal to postgresql.pg_hba.
      pg_hba: [...pgHba],
    },
    postgresql,
    tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
  };
  // Patroni parses with PyYAML (YAML 1.1): emit 1.1 so "on" stays a string, not a boolean.
  return "# Rendered by twinstack (components/render/patroni.ts). Contains passwords: secret.\n" + YAML.stringify(doc, { lineWidth: 0, version: "1.1" });
}

const ETCD_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const ETCD_TOKEN_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function checkEtcdUrl(value: string, field: string): void {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    fail(`etcd: ${field} ${JSON.stringify(value)} is not a URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") fail(`etcd: ${field} must be http(s), got ${JSON.stringify(value)}`);
  if (!u.port) fail(`etcd: ${field} ${JSON.stringify(value)} must name its port explicitly`);
  if (value !== `${u.protocol}//${u.host}`) {
    fail(`etcd: ${field} ${JSON.stringify(value)} must be scheme://host:port only`);
  }
  if (value.includes(",") || value.includes("=")) fail(`etcd: ${field} must not contain ',' or '='`);
}

/** etcd's own environment variables (ETCD_*) for one member of a static cluster. */
export function renderEtcdMemberEnv(args: EtcdMemberEnvArgs): Record<string, string> {
  if (!ETCD_NAME_RE.test(args.name)) fail(`etcd: name ${JSON.stringify(args.name)} must match ${ETCD_NAME_RE}`);
  checkEtcdUrl(args.clientUrl, "clientUrl");
  checkEtcdUrl(args.peerUrl, "peerUrl");
  if (!ETCD_TOKEN_RE.test(args.clusterToken)) fail(`etcd: clusterToken must match ${ETCD_TOKEN_RE}`);
  const state = args.clusterState ?? "new";
  if (state !== "new" && state !== "existing") fail(`etcd: clusterState must be "new" or "existing"`);
  if (!Array.isArray(args.members) || args.members.length === 0) fail("etcd: members must list the cluster's members");
  const names = new Set<string>();
  const peers = new Set<string>();
  args.members.forEach((m, i) => {
    if (!ETCD_NAME_RE.test(m.name)) fail(`etcd: members[${i}].name ${JSON.stringify(m.name)} must match ${ETCD_NAME_RE}`);
    checkEtcdUrl(m.peerUrl, `members[${i}].peerUrl`);
    if (names.has(m.name)) fail(`etcd: members[${i}].name ${JSON.stringify(m.name)} is used twice`);
    if (peers.has(m.peerUrl)) fail(`etcd: members[${i}].peerUrl ${m.peerUrl} is used twice`);
    names.add(m.name);
    peers.add(m.peerUrl);
  });
  const self = args.members.find((m) => m.name === args.name);
  if (!self) fail(`etcd: name ${JSON.stringify(args.name)} is not among members (${[...names].join(", ")})`);
  if (self.peerUrl !== args.peerUrl) {
    fail(`etcd: peerUrl ${args.peerUrl} differs from this member's entry in members (${self.peerUrl})`);
  }
  // An even-sized cluster tolerates no more failures than the next smaller odd one, and two
  // members lose quorum with either one down.
  if (state === "new" && args.members.length % 2 === 0) {
    fail(`etcd: a new cluster needs an odd number of members, got ${args.members.length}`);
  }
  return {
    ETCD_NAME: args.name,
    ETCD_DATA_DIR: args.dataDir ?? "/var/lib/etcd",
    ETCD_LISTEN_PEER_URLS: args.peerUrl,
    ETCD_INITIAL_ADVERTISE_PEER_URLS: args.peerUrl,
    ETCD_LISTEN_CLIENT_URLS: args.clientUrl,
    ETCD_ADVERTISE_CLIENT_URLS: args.clientUrl,
    ETCD_INITIAL_CLUSTER: args.members.map((m) => `${m.name}=${m.peerUrl}`).join(","),
    ETCD_INITIAL_CLUSTER_STATE: state,
    ETCD_INITIAL_CLUSTER_TOKEN: args.clusterToken,
  };
}
