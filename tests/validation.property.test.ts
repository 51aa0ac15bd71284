// Issue 14: per config key, fast-check generates invalid values; each must fail the plan with a
// config error naming the stack file and that key, before anything is declared, and never show
// the value when its key is secret. Seeded by tests/support/fastCheckSeed.ts (FC_SEED overrides).
import fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { GENERATED_ENV_VARS } from "../model/appEnv";
import { ConfigError, parseStackConfig } from "../stacks/config";
import { runStack } from "../stacks";
import { planProgram } from "./harness";

const FILE = "Pulumi.dev.yaml";
const base = () => ({ env: "dev", app: { name: "gigi", image: "gigi:1" } as Record<string, unknown> }) as Record<string, unknown>;
const runners = (extra: Record<string, unknown>) => ({ count: 1, forgeUrl: "https://git.example.com", adminCidr: "203.0.113.0/24", ...extra });

interface KeyCase {
  key: string;
  /** The key path every problem line must name (a prefix). */
  named: string;
  bad: fc.Arbitrary<unknown>;
  build(value: unknown): Record<string, unknown>;
  /** Top-level keys the engine marks secret for this case. */
  secret?: string[];
}

const withChar = (chars: string[]) =>
  fc.tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/), fc.constantFrom(...chars), fc.stringMatching(/^[a-z0-9]{0,6}$/)).map(([a, c, b]) => `${a}${c}${b}`);
const secretText = fc.stringMatching(/^[A-Za-z0-9]{12,24}$/).map((s) => `S3CRET${s}`);

const cases: KeyCase[] = [
  {
    key: "app.replicas",
    named: "twinstack:app.replicas",
    bad: fc.oneof(fc.integer({ min: 51, max: 1e9 }), fc.double({ min: 1.01, max: 49.99, noInteger: true, noNaN: true }), fc.integer({ min: -1000, max: 0 })),
    build: (v) => ({ ...base(), app: { ...(base().app as object), replicas: v } }),
  },
  {
    key: "runners.count",
    named: "twinstack:runners.count",
    bad: fc.oneof(fc.integer({ min: 51, max: 1e9 }), fc.integer({ min: -1e6, max: -1 }), fc.double({ min: 0.1, max: 49.9, noInteger: true, noNaN: true })),
    build: (v) => ({ ...base(), runners: runners({ count: v }), runnerRegistrationToken: "t" }),
    secret: ["runnerRegistrationToken"],
  },
  {
    key: "hosts[].cpus",
    named: "twinstack:hosts[0].cpus",
    bad: fc.oneof(fc.double({ min: 513, max: 1e30, noNaN: true, noDefaultInfinity: true }), fc.double({ min: -1e6, max: 0, noNaN: true, noDefaultInfinity: true })),
    build: (v) => ({ ...base(), hosts: [{ name: "a", docker: "unix:///var/run/docker.sock", cpus: v }] }),
  },
  {
    key: "app.env (generated)",
    named: "twinstack:app.env.",
    bad: fc.constantFrom(...GENERATED_ENV_VARS, "FEATURE_BETA"),
    build: (v) => ({ ...base(), app: { ...(base().app as object), env: { [String(v)]: "prod" } } }),
  },
  {
    key: "app.workers (duplicate)",
    named: "twinstack:app.workers[",
    bad: fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/),
    build: (v) => ({
      ...base(),
      app: {
        ...(base().app as object),
        workers: [
          { name: v, command: ["a"] },
          { name: v, command: ["b"] },
        ],
      },
    }),
  },
  {
    key: "mqtt.devices (duplicate)",
    named: "twinstack:mqtt.devices[",
    bad: fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/),
    build: (v) => ({ ...base(), mqtt: { enabled: true, devices: [v, "other-device", v] } }),
  },
  {
    key: "proxy.headers name",
    named: "twinstack:proxy.headers.",
    bad: fc.oneof(fc.constantFrom("defer", "Defer", "match", "MATCH"), withChar([" ", "{", '"', ":", "\n"])),
    build: (v) => ({ ...base(), proxy: { headers: { [String(v)]: "x" } } }),
  },
  {
    key: "proxy.headers value",
    named: "twinstack:proxy.headers.X-Test",
    bad: withChar(["{", "}", "\\", "\n", "\u00e9"]),
    build: (v) => ({ ...base(), proxy: { headers: { "X-Test": v } } }),
  },
  {
    key: "postgres.host",
    named: "twinstack:postgres.host",
    bad: withChar(["/", "?", "#", " ", "@", "\n"]),
    build: (v) => ({ ...base(), postgres: { mode: "shared", host: v, adminPasswordKey: "pw" }, pw: "x" }),
    secret: ["pw"],
  },
  {
    key: "postgres.network (prod's)",
    named: "twinstack:postgres.network",
    bad: fc
      .tuple(fc.stringMatching(/^[a-z]{1,8}$/), fc.constantFrom("prod", "PROD", "production", "prd"), fc.constantFrom("-", "_", "."))
      .map(([a, t, s]) => `${a}${s}${t}${s}net`),
    build: (v) => ({ ...base(), postgres: { mode: "shared", host: "db", adminPasswordKey: "pw", network: v }, pw: "x" }),
    secret: ["pw"],
  },
  {
    key: "runners.labels",
    named: "twinstack:runners.labels[",
    bad: withChar([",", " ", "\t", "\u00fc"]),
    build: (v) => ({ ...base(), runners: runners({ labels: ["docker", v] }), runnerRegistrationToken: "t" }),
    secret: ["runnerRegistrationToken"],
  },
  {
    key: "vip.interface",
    named: "twinstack:vip.interface",
    bad: fc.oneof(fc.constant("lo"), withChar([" ", "/", ";", "\n"]), fc.stringMatching(/^[a-z]{16,30}$/)),
    build: (v) => ({ ...base(), hosts: [{ name: "a", docker: "unix:///x", address: "10.0.0.1" }], vip: { mode: "keepalived", address: "10.0.0.9", routerId: 7, interface: v } }),
  },
  // Secret: the engine marks redis secret; the bad URL carries a password that must never be shown.
  {
    key: "redis.url (secret)",
    named: "twinstack:redis.url",
    bad: fc.tuple(secretText, withChar([" ", "/x/y", "?q"])).map(([pw, host]) => `redis://:${pw}@${host}:6379`),
    build: (v) => ({ ...base(), redis: { mode: "shared", url: v } }),
    secret: ["redis"],
  },
];

function problemsOf(c: KeyCase, value: unknown): string[] {
  try {
    parseStackConfig(c.build(value), { stack: "dev", sourceFile: FILE, isSecret: (k) => (c.secret ?? []).includes(k) });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

function secretIn(value: unknown): string | undefined {
  return typeof value === "string" ? /S3CRET[A-Za-z0-9]+/.exec(value)?.[0] : undefined;
}

describe.each(cases)("$key: invalid values", (c) => {
  test("config validation: every problem names the file and a key; the key itself is named; no secret shown", () => {
    fc.assert(
      fc.property(c.bad, (value) => {
        const problems = problemsOf(c, value);
        expect(problems.length).toBeGreaterThan(0);
        for (const p of problems) expect(p).toMatch(/^Pulumi\.dev\.yaml: twinstack:\S/);
        expect(problems.some((p) => p.startsWith(`${FILE}: ${c.named}`))).toBe(true);
        const secret = secretIn(value);
        if (secret) expect(problems.join("\n")).not.toContain(secret);
      }),
      { numRuns: 40 },
    );
  });

  test("the program: exit with the config error before declaring anything", async () => {
    let declared = 0;
    const setMocks = pulumi.runtime.setMocks;
    (pulumi.runtime as { setMocks: typeof setMocks }).setMocks = (mocks, ...rest) =>
      setMocks({ ...mocks, newResource: (a) => (declared++, mocks.newResource(a)), call: (a) => mocks.call(a) }, ...rest);
    try {
      await fc.assert(
        fc.asyncProperty(c.bad, async (value) => {
          declared = 0;
          const config = Object.fromEntries(Object.entries(c.build(value)).map(([k, v]) => [`twinstack:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
          const error = await planProgram(runStack, { stack: "dev", config, secretKeys: (c.secret ?? []).map((k) => `twinstack:${k}`), sourceFile: FILE }).then(
            () => undefined,
            (err: unknown) => err,
          );
          expect(error).toBeInstanceOf(pulumi.RunError);
          const message = (error as Error).message;
          for (const line of message.split("\n")) expect(line).toMatch(/^Pulumi\.dev\.yaml: twinstack:\S/);
          expect(declared).toBe(0);
          const secret = secretIn(value);
          if (secret) expect(message).not.toContain(secret);
        }),
        { numRuns: 3 },
      );
    } finally {
      (pulumi.runtime as { setMocks: typeof setMocks }).setMocks = setMocks;
    }
  });
});

test("the declaration counter used above does count: a valid config declares resources", async () => {
  let declared = 0;
  const setMocks = pulumi.runtime.setMocks;
  (pulumi.runtime as { setMocks: typeof setMocks }).setMocks = (mocks, ...rest) =>
    setMocks({ ...mocks, newResource: (a) => (declared++, mocks.newResource(a)), call: (a) => mocks.call(a) }, ...rest);
  try {
    const config = Object.fromEntries(Object.entries(base()).map(([k, v]) => [`twinstack:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
    await planProgram(runStack, { stack: "dev", config, sourceFile: FILE });
    expect(declared).toBeGreaterThan(5);
  } finally {
    (pulumi.runtime as { setMocks: typeof setMocks }).setMocks = setMocks;
  }
});
