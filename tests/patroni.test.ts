import YAML from "yaml";
import { PatroniYmlArgs, renderEtcdMemberEnv, renderPatroniYml } from "../components/render/patroni";

const SUPER_PW = "super-secret-password-1";
const REPL_PW = "repl-secret-password-2";

function patroniArgs(over: Partial<PatroniYmlArgs> = {}): PatroniYmlArgs {
  return {
    scope: "twincigo-prod",
    name: "pg-1",
    restApi: { listen: "0.0.0.0:8008", connectAddress: "10.0.0.1:8008" },
    etcdHosts: ["10.0.0.1:2379", "10.0.0.2:2379", "10.0.0.3:2379"],
    postgres: { listen: "0.0.0.0:5432", connectAddress: "10.0.0.1:5432", dataDir: "/var/lib/postgresql/15/main", binDir: "/usr/lib/postgresql/15/bin" },
    superuser: { username: "postgres", password: SUPER_PW },
    replication: { username: "replicator", password: REPL_PW },
    ...over,
  };
}

const parse = (text: string) => YAML.parse(text, { version: "1.1" });

describe("renderPatroniYml", () => {
  it("renders the member, etcd3 DCS and postgres sections", () => {
    const doc = parse(renderPatroniYml(patroniArgs()));
    expect(doc.scope).toBe("twincigo-prod");
    expect(doc.name).toBe("pg-1");
    expect(doc.namespace).toBe("/service/");
    expect(doc.restapi).toEqual({ listen: "0.0.0.0:8008", connect_address: "10.0.0.1:8008" });
    expect(doc.etcd3.hosts).toEqual(["10.0.0.1:2379", "10.0.0.2:2379", "10.0.0.3:2379"]);
    expect(doc.postgresql.listen).toBe("0.0.0.0:5432");
    expect(doc.postgresql.connect_address).toBe("10.0.0.1:5432");
    expect(doc.postgresql.data_dir).toBe("/var/lib/postgresql/15/main");
    expect(doc.postgresql.bin_dir).toBe("/usr/lib/postgresql/15/bin");
    expect(doc.postgresql.authentication.superuser).toEqual({ username: "postgres", password: SUPER_PW });
    expect(doc.postgresql.authentication.replication).toEqual({ username: "replicator", password: REPL_PW });
    expect(doc.postgresql.authentication.rewind).toEqual({ username: "postgres", password: SUPER_PW });
    expect(doc.bootstrap.dcs.postgresql.use_pg_rewind).toBe(true);
  });

  it("keeps Postgres 'on' parameters as strings for a YAML 1.1 reader", () => {
    const doc = parse(renderPatroniYml(patroniArgs()));
    expect(doc.bootstrap.dcs.postgresql.parameters.hot_standby).toBe("on");
  });

  it("defaults pg_hba to scram from private ranges, never trust or 0.0.0.0/0", () => {
    const doc = parse(renderPatroniYml(patroniArgs()));
    const hba: string[] = doc.postgresql.pg_hba;
    expect(hba).toContain("host replication replicator 10.0.0.0/8 scram-sha-256");
    expect(hba.every((l) => l.endsWith("scram-sha-256"))).toBe(true);
    expect(hba.join("\n")).not.toContain("0.0.0.0/0");
    expect(doc.bootstrap.pg_hba).toEqual(hba);
  });

  it("uses given pgHba, namespace and rewind user", () => {
    const doc = parse(
      renderPatroniYml(
        patroniArgs({
          namespace: "/twinstack/",
          pgHba: ["host all all 10.1.0.0/16 scram-sha-256"],
          rewind: { username: "rewinder", password: "rewind-password-3" },
        }),
      ),
    );
    expect(doc.namespace).toBe("/twinstack/");
    expect(doc.postgresql.pg_hba).toEqual(["host all all 10.1.0.0/16 scram-sha-256"]);
    expect(doc.postgresql.authentication.rewind.username).toBe("rewinder");
  });

  it.each<[string, Partial<PatroniYmlArgs>, RegExp]>([
    ["loopback connect address", { restApi: { listen: "0.0.0.0:8008", connectAddress: "127.0.0.1:8008" } }, /restApi\.connectAddress .* other members can reach/],
    ["localhost postgres connect", { postgres: { listen: "0.0.0.0:5432", connectAddress: "localhost:5432", dataDir: "/d" } }, /postgres\.connectAddress/],
    ["listen without port", { restApi: { listen: "0.0.0.0", connectAddress: "10.0.0.1:8008" } }, /restApi\.listen .* host:port/],
    ["no etcd hosts", { etcdHosts: [] }, /etcdHosts must list/],
    ["etcd URL instead of host:port", { etcdHosts: ["http://10.0.0.1:2379"] }, /etcdHosts\[0\]/],
    ["relative data dir", { postgres: { listen: "0.0.0.0:5432", connectAddress: "10.0.0.1:5432", dataDir: "data" } }, /dataDir .* absolute/],
    ["short password", { superuser: { username: "postgres", password: "short" } }, /superuser\.password must be at least 12/],
    ["same user twice", { replication: { username: "postgres", password: REPL_PW } }, /must differ/],
    ["trust in pg_hba", { pgHba: ["host all all 10.0.0.0/8 trust"] }, /trust/],
    ["empty pg_hba", { pgHba: [] }, /must not be empty/],
    ["bad scope", { scope: "my cluster" }, /scope/],
  ])("rejects %s", (_n, over, message) => {
    expect(() => renderPatroniYml(patroniArgs(over))).toThrow(message);
  });

  it("never puts a password in an error message", () => {
    try {
      renderPatroniYml(patroniArgs({ superuser: { username: "postgres", password: "tiny\npw" } }));
      throw new Error("expected a throw");
    } catch (e) {
      expect((e as Error).message).not.toContain("tiny");
    }
  });
});

describe("renderEtcdMemberEnv", () => {
  const members = [1, 2, 3].map((i) => ({ name: `etcd-${i}`, peerUrl: `http://10.0.0.${i}:2380` }));

  it("renders one member of a three-member static cluster", () => {
    const env = renderEtcdMemberEnv({
      name: "etcd-2",
      clientUrl: "http://10.0.0.2:2379",
      peerUrl: "http://10.0.0.2:2380",
      members,
      clusterToken: "twincigo-prod-etcd",
    });
    expect(env).toEqual({
      ETCD_NAME: "etcd-2",
      ETCD_DATA_DIR: "/var/lib/etcd",
      ETCD_LISTEN_PEER_URLS: "http://10.0.0.2:2380",
      ETCD_INITIAL_ADVERTISE_PEER_URLS: "http://10.0.0.2:2380",
      ETCD_LISTEN_CLIENT_URLS: "http://10.0.0.2:2379",
      ETCD_ADVERTISE_CLIENT_URLS: "http://10.0.0.2:2379",
      ETCD_INITIAL_CLUSTER: "etcd-1=http://10.0.0.1:2380,etcd-2=http://10.0.0.2:2380,etcd-3=http://10.0.0.3:2380",
      ETCD_INITIAL_CLUSTER_STATE: "new",
      ETCD_INITIAL_CLUSTER_TOKEN: "twincigo-prod-etcd",
    });
  });

  const base = { name: "etcd-1", clientUrl: "http://10.0.0.1:2379", peerUrl: "http://10.0.0.1:2380", members, clusterToken: "tok" };
  it.each<[string, object, RegExp]>([
    ["a name not in members", { name: "etcd-9" }, /not among members/],
    ["a peer URL differing from members", { peerUrl: "http://10.0.0.9:2380" }, /differs from this member's entry/],
    ["an even new cluster", { members: members.slice(0, 2) }, /odd number of members/],
    ["a URL without port", { clientUrl: "http://10.0.0.1" }, /port explicitly/],
    ["a URL with a path", { clientUrl: "http://10.0.0.1:2379/x" }, /scheme:\/\/host:port only/],
    ["a non-http URL", { clientUrl: "tcp://10.0.0.1:2379" }, /http\(s\)/],
    ["duplicate member names", { members: [...members, members[0]] }, /used twice/],
    ["a token with spaces", { clusterToken: "a b" }, /clusterToken/],
  ])("rejects %s", (_n, over, message) => {
    expect(() => renderEtcdMemberEnv({ ...base, ...over })).toThrow(message);
  });

  it("allows an even member list when joining an existing cluster", () => {
    const env = renderEtcdMemberEnv({ ...base, members: members.slice(0, 2), clusterState: "existing" });
    expect(env.ETCD_INITIAL_CLUSTER_STATE).toBe("existing");
  });
});
