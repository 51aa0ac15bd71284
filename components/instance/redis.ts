// The env's Redis, by variant (InstanceStackArgs.redis): none; a dedicated container on the env
// network (append-only file on a volume); or a shared server the app reaches by URL.
import { REDIS } from "../images";
import { InstanceContext } from "./context";
import { dedicatedRedisUrl } from "../../model/names";

/** The Redis the app is given: `url` (REDIS_URL, `redis://host:port[/db]`) and the key `prefix` of this env. */
export interface InstanceRedis {
  /** REDIS_URL the app gets. */
  url: string;
  /** Key prefix the app uses. */
  prefix: string;
}

/** Children (dedicated): `${name}-redis-data` (volume), `${name}-redis` (workload). Returns undefined for `none`. */
export function declareRedis(ctx: InstanceContext): InstanceRedis | undefined {
  const redis = ctx.args.redis;
  switch (redis.mode) {
    case "none":
      return undefined;
    case "shared":
      return { url: redis.url, prefix: redis.prefix };
    case "dedicated": {
      const data = ctx.volume("redis-data");
      ctx.put("redis", {
        name: `${ctx.prefix}-redis`,
        role: "redis",
        image: redis.image,
        command: ["redis-server", "--appendonly", "yes"],
        network: ctx.onNet(["redis"]),
        volumes: [{ volumeName: data.name, path: REDIS.paths.data }],
        limits: ctx.limitsOf(redis.limits),
        healthcheck: { test: ["CMD", ...REDIS.health!] },
      });
      return { url: dedicatedRedisUrl(), prefix: redis.prefix };
    }
  }
}
