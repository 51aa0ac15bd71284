import { KeepalivedConfArgs, KeepalivedConfigError, proxyTrackCommand, renderKeepalivedConf } from "../components/render/keepalived";

const base: KeepalivedConfArgs = {
  instanceName: "gigi_dev",
  virtualIp: "192.168.1.52/24",
  interface: "eth0",
  virtualRouterId: 52,
  authPass: "s3cret_x",
  nodes: [
    { name: "node-a", address: "192.168.1.10", priority: 150 },
    { name: "node-b", address: "192.168.1.11", priority: 100 },
  ],
  self: "node-a",
};

function render(over: Partial<KeepalivedConfArgs> = {}): string {
  return renderKeepalivedConf({ ...base, ...over });
}

/** The lines inside `<keyword> { ... }` (first occurrence), trimmed. */
function block(text: string, keyword: string): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.trim().startsWith(`${keyword} `) && l.trim().endsWith("{"));
  if (start < 0) throw new Error(`no ${keyword} block in:\n${text}`);
  const out: string[] = [];
  let depth = 1;
  for (const l of lines.slice(start + 1)) {
    if (l.trim().endsWith("{")) depth++;
    if (l.trim() === "}") depth--;
    if (depth === 0) break;
    out.push(l.trim());
  }
  return out;
}

function expectError(over: Partial<KeepalivedConfArgs>, message: RegExp): void {
  expect(() => render(over)).toThrow(KeepalivedConfigError);
  expect(() => render(over)).toThrow(message);
}

describe("renderKeepalivedConf", () => {
  test("highest priority node is MASTER, others BACKUP with their own priority", () => {
    const a = render({ self: "node-a" });
    const b = render({ self: "node-b" });
    expect(a).toMatch(/^\s+state MASTER$/m);
    expect(a).toMatch(/^\s+priority 150$/m);
    expect(b).toMatch(/^\s+state BACKUP$/m);
    expect(b).toMatch(/^\s+priority 100$/m);
  });

  test("MASTER follows priority, not list order", () => {
    const nodes = [
      { name: "low", address: "10.0.0.1", priority: 10 },
      { name: "high", address: "10.0.0.2", priority: 200 },
      { name: "mid", address: "10.0.0.3", priority: 100 },
    ];
    const states = nodes.map((n) => /state (\w+)/.exec(render({ nodes, self: n.name }))![1]);
    expect(states).toEqual(["BACKUP", "MASTER", "BACKUP"]);
  });

  test("unicast peers are every other node, never self; src ip is self", () => {
    const nodes = [
      { name: "n1", address: "10.0.0.1", priority: 30 },
      { name: "n2", address: "10.0.0.2", priority: 20 },
      { name: "n3", address: "10.0.0.3", priority: 10 },
    ];
    const text = render({ nodes, self: "n2" });
    expect(block(text, "unicast_peer")).toEqual(["10.0.0.1", "10.0.0.3"]);
    expect(text).toMatch(/^\s+unicast_src_ip 10\.0\.0\.2$/m);
    expect(text).toMatch(/^\s+router_id n2$/m);
  });

  test("a single node renders without unicast settings", () => {
    const text = render({ nodes: [base.nodes[0]] });
    expect(text).not.toContain("unicast_peer");
    expect(text).not.toContain("unicast_src_ip");
    expect(text).toMatch(/state MASTER/);
  });

  test("global_defs, auth, VIP and router id are rendered", () => {
    const text = render();
    expect(block(text, "global_defs")).toEqual(["router_id node-a", "enable_script_security", "script_user root"]);
    expect(block(text, "authentication")).toEqual(["auth_type PASS", `auth_pass ${base.authPass}`]);
    expect(block(text, "virtual_ipaddress")).toEqual(["192.168.1.52/24"]);
    expect(text).toMatch(/^vrrp_instance gigi_dev \{$/m);
    expect(text).toMatch(/^\s+virtual_router_id 52$/m);
    expect(text).toMatch(/^\s+interface eth0$/m);
    expect(text).toMatch(/^\s+advert_int 1$/m);
    expect(render({ virtualIp: "192.168.1.52" })).toMatch(/^\s+192\.168\.1\.52$/m);
    expect(render({ advertIntervalSeconds: 3 })).toMatch(/^\s+advert_int 3$/m);
  });

  test("braces balance", () => {
    const text = render({ trackScript: { name: "chk_proxy", command: proxyTrackCommand(443) } });
    expect(text.split("{").length).toBe(text.split("}").length);
  });

  test("track script is defined and referenced, with defaults", () => {
    const text = render({ trackScript: { name: "chk_proxy", command: "/usr/local/bin/check" } });
    expect(block(text, "vrrp_script")).toEqual(['script "/usr/local/bin/check"', "interval 2", "fall 2", "rise 2"]);
    expect(block(text, "track_script")).toEqual(["chk_proxy"]);
    // vrrp_script must be defined before the instance that tracks it.
    expect(text.indexOf("vrrp_script chk_proxy")).toBeLessThan(text.indexOf("vrrp_instance"));
  });

  test("track script weight is rendered when it can move the VIP", () => {
    const text = render({
      trackScript: { name: "chk", command: "/bin/true", weight: -60, intervalSeconds: 5, fall: 3, rise: 1 },
    });
    expect(block(text, "vrrp_script")).toEqual(['script "/bin/true"', "interval 5", "fall 3", "rise 1", "weight -60"]);
  });

  test("a track script timeout is rendered after the interval when given, and range-checked", () => {
    const text = render({ trackScript: { name: "chk", command: "/bin/true", intervalSeconds: 1, timeoutSeconds: 5 } });
    expect(block(text, "vrrp_script")).toEqual(['script "/bin/true"', "interval 1", "timeout 5", "fall 2", "rise 2"]);
    expect(render({ trackScript: { name: "chk", command: "/bin/true" } })).not.toContain("timeout");
    expectError({ trackScript: { name: "c", command: "/bin/true", timeoutSeconds: 0 } }, /timeoutSeconds/);
    expectError({ trackScript: { name: "c", command: "/bin/true", timeoutSeconds: 2.5 } }, /timeoutSeconds/);
  });

  test("no track script means no vrrp_script or track_script", () => {
    const text = render();
    expect(text).not.toContain("vrrp_script");
    expect(text).not.toContain("track_script");
  });

  describe("validation", () => {
    test.each([
      ["300.1.1.1", /virtualIp/],
      ["192.168.1", /virtualIp/],
      ["192.168.1.52/33", /prefix/],
      ["192.168.1.52/0", /prefix/],
      ["192.168.01.52", /virtualIp/],
      ["fe80::1", /virtualIp/],
      ["192.168.1.52 ", /virtualIp/],
    ])("bad virtualIp %j", (virtualIp, msg) => expectError({ virtualIp }, msg));

    test("bad node address", () => {
      expectError({ nodes: [{ name: "a", address: "10.0.0.256", priority: 100 }], self: "a" }, /nodes\[0\]\.address/);
      expectError({ nodes: [{ name: "a", address: "10.0.0.1/24", priority: 100 }], self: "a" }, /nodes\[0\]\.address/);
    });

    test.each([0, 256, -1, 1.5, NaN])("virtualRouterId %p out of range", (virtualRouterId) => expectError({ virtualRouterId }, /virtualRouterId .* 1\.\.255/));

    test("router id bounds are inclusive", () => {
      expect(render({ virtualRouterId: 1 })).toMatch(/virtual_router_id 1$/m);
      expect(render({ virtualRouterId: 255 })).toMatch(/virtual_router_id 255$/m);
    });

    test("duplicate priorities are rejected (no unique MASTER)", () => {
      expectError(
        {
          nodes: [
            { name: "a", address: "10.0.0.1", priority: 100 },
            { name: "b", address: "10.0.0.2", priority: 100 },
          ],
          self: "a",
        },
        /share priority 100/,
      );
    });

    test.each([0, 255, 1.5])("priority %p out of range", (priority) => expectError({ nodes: [{ name: "a", address: "10.0.0.1", priority }], self: "a" }, /priority/));

    test("duplicate node names or addresses are rejected", () => {
      expectError(
        {
          nodes: [
            { name: "a", address: "10.0.0.1", priority: 100 },
            { name: "a", address: "10.0.0.2", priority: 90 },
          ],
          self: "a",
        },
        /appears twice/,
      );
      expectError(
        {
          nodes: [
            { name: "a", address: "10.0.0.1", priority: 100 },
            { name: "b", address: "10.0.0.1", priority: 90 },
          ],
          self: "a",
        },
        /appears twice/,
      );
    });

    test("a node may not hold the VIP as its own address", () => {
      expectError({ virtualIp: "192.168.1.10/24" }, /is the virtual IP/);
    });

    test("self must be one of the nodes", () => {
      expectError({ self: "node-c" }, /self "node-c" is not one of the nodes \(node-a, node-b\)/);
    });

    test("empty node list is rejected", () => expectError({ nodes: [] }, /at least one node/));

    test.each(["", "123456789"])("authPass length %j is rejected", (authPass) => expectError({ authPass }, /authPass/));

    test("a too-long authPass error does not echo the secret", () => {
      expect(() => render({ authPass: "supersecretvalue" })).toThrow(/keeps only 8/);
      expect(() => render({ authPass: "supersecretvalue" })).not.toThrow(/supersecretvalue/);
    });

    test.each(["ab cd", "ab#cd", "ab!cd", 'ab"cd', "ab'cd", "ab{cd", "ab$cd", "ab\\cd", "pässwd"])("authPass %j with a character keepalived reinterprets is rejected", (authPass) =>
      expectError({ authPass }, /authPass contains/),
    );

    test("8-character authPass with punctuation is accepted", () => {
      expect(render({ authPass: "a-b_c.d9" })).toContain("auth_pass a-b_c.d9");
    });

    test.each(["gigi dev", "gigi{dev", 'gigi"dev', "gigi'dev", "", "gigi}", "x".repeat(65), "-gigi"])("instanceName %j is rejected", (instanceName) =>
      expectError({ instanceName }, /instanceName .* not a valid name/),
    );

    test("node names and track script names are validated too", () => {
      expectError({ nodes: [{ name: "node a", address: "10.0.0.1", priority: 100 }], self: "node a" }, /nodes\[0\]\.name/);
      expectError({ trackScript: { name: "chk proxy", command: "/bin/true" } }, /trackScript\.name/);
    });

    test.each(["", "eth 0", "eth0{", "averyveryverylongname", "eth/0", '"eth0"'])("interface %j is rejected", (iface) =>
      expectError({ interface: iface }, /interface .* not a valid Linux interface name/),
    );

    test("loopback interface is rejected (keepalived refuses it)", () => {
      expectError({ interface: "lo" }, /loopback/);
    });

    test.each(["eth0", "ens18", "enp0s31f6", "br-lan", "eth0.100", "wg_0"])("interface %j is accepted", (iface) => {
      expect(render({ interface: iface })).toContain(`interface ${iface}`);
    });

    test.each([
      ['/bin/sh -c "x"', /double quote/],
      ["/bin/check # x", /'#'/],
      ["/bin/check $HOME", /'\$'/],
      ["/bin/check\n}", /control char/],
      ["check_proxy", /absolute path/],
      ["  ", /non-empty/],
    ])("track command %j is rejected", (command, msg) => expectError({ trackScript: { name: "chk", command } }, msg));

    test("a track weight too small to move the VIP is rejected", () => {
      expectError({ trackScript: { name: "chk", command: "/bin/true", weight: -50 } }, /weight -50 cannot move the VIP: MASTER node-a \(priority 150\) is 50 above node-b/);
      expectError({ trackScript: { name: "chk", command: "/bin/true", weight: 20 } }, /cannot move the VIP/);
      expect(render({ trackScript: { name: "chk", command: "/bin/true", weight: 51 } })).toContain("weight 51");
    });

    test("advert interval and track counters are range-checked", () => {
      expectError({ advertIntervalSeconds: 0 }, /advertIntervalSeconds/);
      expectError({ trackScript: { name: "c", command: "/bin/true", intervalSeconds: 0 } }, /intervalSeconds/);
      expectError({ trackScript: { name: "c", command: "/bin/true", fall: 0 } }, /fall/);
      expectError({ trackScript: { name: "c", command: "/bin/true", rise: 1.5 } }, /rise/);
    });
  });
});

describe("proxyTrackCommand", () => {
  test("checks the given loopback port with POSIX sh, nc first then wget", () => {
    const cmd = proxyTrackCommand(8443);
    expect(cmd.startsWith("/bin/sh -c '")).toBe(true);
    expect(cmd.endsWith("'")).toBe(true);
    expect(cmd).toContain("nc -z -w 2 127.0.0.1 8443");
    expect(cmd).toContain("http://127.0.0.1:8443/");
  });

  test("contains nothing keepalived would reinterpret and renders cleanly", () => {
    const cmd = proxyTrackCommand(80);
    expect(cmd).not.toMatch(/["\\#!$\n{}]/);
    // Single quotes must pair up: keepalived splits on unquoted spaces.
    expect(cmd.split("'").length % 2).toBe(1);
    expect(render({ trackScript: { name: "chk_proxy", command: cmd } })).toContain(`script "${cmd}"`);
  });

  test.each([0, 65536, 1.5, NaN])("port %p is rejected", (port) => {
    expect(() => proxyTrackCommand(port)).toThrow(KeepalivedConfigError);
  });
});
