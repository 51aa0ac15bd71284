import { MosquittoConfArgs, MosquittoConfigError, renderMosquittoConf } from "../components/render/mosquitto";

const base: MosquittoConfArgs = {
  port: 8884,
  caFile: "/mosquitto/certs/ca.crt",
  certFile: "/mosquitto/certs/server.crt",
  keyFile: "/mosquitto/certs/server.key",
};

function render(over: Partial<MosquittoConfArgs> = {}): string {
  return renderMosquittoConf({ ...base, ...over });
}

function lines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
}

function expectError(over: Partial<MosquittoConfArgs>, message: RegExp): void {
  expect(() => render(over)).toThrow(MosquittoConfigError);
  expect(() => render(over)).toThrow(message);
}

describe("renderMosquittoConf", () => {
  test("one mutual-TLS listener with cert identity as username", () => {
    expect(lines(render())).toEqual([
      "per_listener_settings true",
      "persistence false",
      "listener 8884",
      "protocol mqtt",
      "allow_anonymous false",
      "cafile /mosquitto/certs/ca.crt",
      "certfile /mosquitto/certs/server.crt",
      "keyfile /mosquitto/certs/server.key",
      "tls_version tlsv1.2",
      "require_certificate true",
      "use_identity_as_username true",
    ]);
  });

  test("per_listener_settings precedes the listener (it is global and must come first)", () => {
    const l = lines(render());
    expect(l.indexOf("per_listener_settings true")).toBeLessThan(l.indexOf("listener 8884"));
  });

  test("exactly one listener, and no plain-MQTT port", () => {
    expect(lines(render()).filter((l) => l.startsWith("listener") || l.startsWith("port "))).toEqual(["listener 8884"]);
  });

  test("bind address is appended to the listener", () => {
    expect(lines(render({ bindAddress: "127.0.0.1" }))).toContain("listener 8884 127.0.0.1");
    expect(lines(render({ bindAddress: "::1" }))).toContain("listener 8884 ::1");
  });

  test("persistence dir gets a trailing slash (mosquitto 1.x concatenates the file name)", () => {
    expect(lines(render({ persistenceDir: "/mosquitto/data" }))).toEqual(expect.arrayContaining(["persistence true", "persistence_location /mosquitto/data/"]));
    expect(lines(render({ persistenceDir: "/mosquitto/data/" }))).toContain("persistence_location /mosquitto/data/");
  });

  test("tls 1.3 minimum can be chosen", () => {
    expect(lines(render({ tlsVersion: "tlsv1.3" }))).toContain("tls_version tlsv1.3");
  });

  describe("validation", () => {
    test.each([0, -1, 65536, 1.5, NaN])("port %p is rejected", (port) => expectError({ port }, /port .* 1\.\.65535/));

    test("port bounds are inclusive", () => {
      expect(render({ port: 1 })).toContain("listener 1\n");
      expect(render({ port: 65535 })).toContain("listener 65535\n");
    });

    test.each([
      ["caFile", "/certs/ca file.crt", /whitespace/],
      ["caFile", "/certs/ca.crt\nallow_anonymous true", /whitespace/],
      ["certFile", "/certs/server.crt\r", /whitespace/],
      ["keyFile", "/certs/server\t.key", /whitespace/],
      ["keyFile", "certs/server.key", /absolute/],
      ["certFile", "", /non-empty/],
      ["persistenceDir", "/data dir", /whitespace/],
      ["persistenceDir", "data", /absolute/],
    ] as const)("%s %j is rejected", (field, value, msg) => expectError({ [field]: value }, msg));

    test("an injected directive never reaches the output", () => {
      expect(() => render({ caFile: "/c.crt\nrequire_certificate false" })).toThrow(/caFile/);
    });

    test.each(["tlsv1", "tlsv1.1", "TLSv1.2", ""])("tlsVersion %j is rejected", (tlsVersion) => expectError({ tlsVersion }, /tlsVersion/));

    test.each(["127.0.0.1 1883", "0.0.0.0\n", "bad_host!", "256.1.1.1", "-host"])("bindAddress %j is rejected", (bindAddress) => expectError({ bindAddress }, /bindAddress/));
  });
});
