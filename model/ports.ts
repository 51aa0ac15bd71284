// Ports, one definition each: those the program chooses itself (not the user) and the well-known
// ports of the programs it runs, shared by the program, its config defaults and the policy pack
// (claims, the firewall rule), so they cannot disagree. Pure: no Pulumi imports.
import { BROWSERLESS, GITEA, MOSQUITTO, POSTGRES, REDIS, VAULT_CADDY } from "./images";

/**
 * keepalived tracks the env's proxy on 127.0.0.1:<base + VRRP router id> of every VIP node (plain
 * HTTP to Caddy's port 80): distinct per env, since router ids are distinct on one LAN.
 */
export const KEEPALIVED_HEALTH_PORT_BASE = 20000;

// Well-known ports of the third-party programs the env runs, from the image facts (model/images.ts,
// each cited there) so the program, its config defaults and the policy pack name one value.

/** PostgreSQL's listening port (a dedicated server; also the default of postgres.port). */
export const POSTGRES_PORT = POSTGRES.ports.postgres;
/** Redis's listening port (a dedicated server; a redis:// URL without a port means it). */
export const REDIS_PORT = REDIS.ports.redis;
/** Mosquitto's mTLS listener inside its container (and the default of mqtt.port). */
export const MQTT_TLS_PORT = MOSQUITTO.ports.mqtts;
/**
 * Plain (unencrypted) MQTT: IANA's registered port for mqtt, and Mosquitto's listener when its
 * config names none (https://mosquitto.org/man/mosquitto-conf-5.html, "listener port"). The program
 * never publishes it; the policy pack refuses a firewall opening it to the world.
 */
export const MQTT_PLAIN_PORT = 1883;
/** Gitea/Forgejo's HTTP port inside the container (rootless images). */
export const FORGE_HTTP_PORT = GITEA.ports.http;
/** Gitea/Forgejo's built-in SSH server inside the container (rootless images). */
export const FORGE_SSH_PORT = GITEA.ports.ssh;
/** The static-file vault's `caddy file-server --listen` port. */
export const VAULT_PORT = VAULT_CADDY.ports.http;
/** browserless's HTTP/WebSocket API port (its PORT default). */
export const BROWSER_PORT = BROWSERLESS.ports.http;

/**
 * Ports of data services that no firewall may open to the whole internet (policy rule 8): what
 * each is, for the violation message.
 */
export const DATA_PORTS: readonly { port: number; what: string }[] = [
  { port: POSTGRES_PORT, what: "Postgres" },
  { port: REDIS_PORT, what: "Redis" },
  { port: MQTT_PLAIN_PORT, what: "plain MQTT" },
];

/**
 * The HTTP ports of the monitoring images inside their containers (env network only, never published):
 * - prometheus 9090: https://github.com/prometheus/prometheus/blob/main/Dockerfile (EXPOSE 9090)
 * - alertmanager 9093: https://github.com/prometheus/alertmanager/blob/main/Dockerfile (EXPOSE 9093)
 * - blackbox 9115: https://github.com/prometheus/blackbox_exporter/blob/master/Dockerfile (EXPOSE 9115)
 * - nodeExporter 9100: https://github.com/prometheus/node_exporter/blob/master/Dockerfile (EXPOSE 9100)
 * - cadvisor 8080: https://github.com/google/cadvisor/blob/master/docs/runtime_options.md (`--port`, default 8080)
 * - postgresExporter 9187: https://github.com/prometheus-community/postgres_exporter/blob/master/Dockerfile (EXPOSE 9187)
 */
export const MONITORING_PORTS = { prometheus: 9090, alertmanager: 9093, blackbox: 9115, nodeExporter: 9100, cadvisor: 8080, postgresExporter: 9187 } as const;
