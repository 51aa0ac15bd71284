import { HaproxyCfgArgs, renderHaproxyCfg } from "../components/render/haproxy";

const members = [1, 2, 3].map((i) => ({ name: `pg-${i}`, host: `10.0.0.${i}`, pgPort: 5432, restApiPort: 8008 }));

function section(cfg: string, name: string): string {
  const start = cfg.indexOf(`\nlisten ${name}\n`);
  if (start < 0) throw new Error(`no listen ${name} section in:\n${cfg}`);
  const rest = cfg.slice(start + 1);
  const end = rest.indexOf("\n\n");
  return end < 0 ? rest : rest.slice(0, end);
}

describe("renderHaproxyCfg", () => {
  const args: HaproxyCfgArgs = { listenPort: 5000, members };

  it("routes the TCP frontend to the Patroni leader via GET /primary", () => {
    const primary = section(renderHaproxyCfg(args), "postgres_primary");
    expect(primary).toContain("bind *:5000");
    expect(primary).toContain("option httpchk");
    expect(primary).toContain("http-check send meth GET uri /primary");
    expect(primary).toContain("http-check expect status 200");
    expect(primary).toContain("default-server inter 3s fall 3 rise 2 on-marked-down shutdown-sessions");
    for (const m of members) {
      expect(primary).toContain(`server ${m.name} ${m.host}:5432 maxconn 100 check port 8008`);
    }
    expect(renderHaproxyCfg(args)).toMatch(/^\s+mode tcp$/m);
  });

  it("has no replica or stats listener unless asked", () => {
    const cfg = renderHaproxyCfg(args);
    expect(cfg).not.toContain("postgres_replicas");
    expect(cfg).not.toContain("listen stats");
  });

  it("adds a read-only replicas listener on listenPort+1 checking /replica", () => {
    const replicas = section(renderHaproxyCfg({ ...args, replicas: true }), "postgres_replicas");
    expect(replicas).toContain("bind *:5001");
    expect(replicas).toContain("http-check send meth GET uri /replica");
    expect(replicas).toContain("balance roundrobin");
    expect(replicas.match(/^\s+server /gm)).toHaveLength(3);
  });

  it("adds a stats page on statsPort", () => {
    const stats = section(renderHaproxyCfg({ ...args, statsPort: 7000, bindAddress: "10.0.0.9" }), "stats");
    expect(stats).toContain("bind 10.0.0.9:7000");
    expect(stats).toContain("mode http");
  });

  it("resolves member names at run time through Docker's embedded DNS and starts without them", () => {
    const cfg = renderHaproxyCfg(args);
    const resolvers = section(`\n${cfg}`.replace("\nresolvers members\n", "\nlisten resolvers\n"), "resolvers");
    expect(resolvers).toContain("nameserver dns1 127.0.0.11:53");
    expect(resolvers).toContain("hold nx 10s");
    for (const m of members) {
      expect(cfg).toContain(`server ${m.name} ${m.host}:5432 maxconn 100 check port 8008 resolvers members init-addr last,libc,none`);
    }
    expect(renderHaproxyCfg({ ...args, nameservers: ["127.0.0.1:5353", "10.0.0.2:53"] })).toMatch(/nameserver dns1 127\.0\.0\.1:5353\n\s+nameserver dns2 10\.0\.0\.2:53/);
  });

  it.each<[string, Partial<HaproxyCfgArgs>, RegExp]>([
    ["no nameservers", { nameservers: [] }, /nameservers must list/],
    ["nameserver without port", { nameservers: ["127.0.0.11"] }, /nameservers\[0\]/],
    ["port 0", { listenPort: 0 }, /listenPort must be an integer port/],
    ["replica port past 65535", { listenPort: 65535, replicas: true }, /replica port/],
    ["stats port clashing with replicas", { replicas: true, statsPort: 5001 }, /must differ/],
    ["no members", { members: [] }, /at least one Patroni member/],
    ["duplicate member", { members: [members[0], members[0]] }, /used twice/],
    ["member name with space", { members: [{ ...members[0], name: "pg 1" }] }, /members\[0\]\.name/],
    ["host with space", { members: [{ ...members[0], host: "10.0.0.1 backup" }] }, /members\[0\]\.host/],
    ["bad rest port", { members: [{ ...members[0], restApiPort: 70000 }] }, /restApiPort/],
    ["bad bind", { bindAddress: "0.0.0.0 ssl" }, /bindAddress/],
  ])("rejects %s", (_n, over, message) => {
    expect(() => renderHaproxyCfg({ ...args, ...over })).toThrow(message);
  });
});
