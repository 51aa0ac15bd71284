// The model's derived facts (issue 15): one definition each, used by the program and the policy pack.
import { DATA_PORTS, MQTT_TLS_PORT, POSTGRES_PORT, REDIS_PORT } from "../model/ports";
import { MOSQUITTO, POSTGRES, REDIS } from "../model/images";
import { dedicatedRedisUrl, hostServerName, namePrefix, previewRedisPrefix, redisKeyPrefix, RUNNER_MACHINE_NAME_RE, runnerMachineName, runnerNamePrefix } from "../model/names";
import { EPHEMERAL } from "../policy/runners";
import { EPHEMERAL_TAG } from "../components/runnerFleet";
import { redisServer } from "../model/claims";
import { LABELS } from "../model/labels";
import { stackConfigSchema } from "../model/schema";

describe("model: ports, names, labels", () => {
  it("takes the data ports the firewall rule guards from the image facts", () => {
    expect(DATA_PORTS.map((p) => p.port)).toEqual([POSTGRES.ports.postgres, REDIS.ports.redis, 1883]);
    expect([POSTGRES_PORT, REDIS_PORT, MQTT_TLS_PORT]).toEqual([5432, 6379, 8883]);
  });

  it("gives the config defaults the same ports as the images", () => {
    const c = stackConfigSchema.parse({ env: "dev", app: { name: "shop", image: "registry.example.com/shop" }, hosts: [{ name: "h1", docker: "unix:///var/run/docker.sock" }] });
    expect(c.postgres.port).toBe(POSTGRES_PORT);
    expect(c.mqtt.port).toBe(MOSQUITTO.ports.mqtts);
  });

  it("names a Redis key prefix, a dedicated Redis and a provisioned server once", () => {
    expect(redisKeyPrefix("prod")).toBe("prod:");
    expect(redisKeyPrefix("dev", "shop-dev:")).toBe("shop-dev:");
    expect(previewRedisPrefix("feature-x")).toBe("preview-feature-x:");
    expect(dedicatedRedisUrl()).toBe("redis://redis:6379");
    expect(redisServer(dedicatedRedisUrl())).toBe(redisServer("redis://redis"));
    expect(hostServerName("shop-prod", "a")).toBe("shop-prod-host-a");
  });

  it("keeps every label in the twinstack namespace, each key once", () => {
    const keys = Object.values(LABELS);
    expect(keys.every((k) => k.startsWith("twinstack."))).toBe(true);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe("model: runner machine names", () => {
  it("names runner machines so the pack's runner rule finds them, and never a provisioned host", () => {
    const prefix = namePrefix("gigi", "dev");
    const runners = [0, 1, 12].map((i) => runnerMachineName(runnerNamePrefix(prefix), i));
    expect(runners).toEqual(["gigi-dev-runner-0", "gigi-dev-runner-1", "gigi-dev-runner-12"]);
    for (const name of runners) expect(RUNNER_MACHINE_NAME_RE.test(name)).toBe(true);
    for (const host of ["node1", "runner", "runner-a"]) expect(RUNNER_MACHINE_NAME_RE.test(hostServerName(prefix, host))).toBe(false);
  });

  it("gives the fleet and the pack one ephemeral tag", () => {
    expect(EPHEMERAL).toBe(EPHEMERAL_TAG);
  });
});
