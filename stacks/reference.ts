// What every stack-file key means, for people: the README's config reference joins these to the
// schema's types and defaults (tools/configReference.ts); a test checks every schema key has one.
// Keys are dotted paths as in the table, lists as `[]` (e.g. `hosts[].name`).
import { ETCD, HAPROXY, MONITORING_IMAGES } from "../model/images";

export interface KeyReference {
  description: string;
  /** Unit of a number (CPUs, MiB, seconds, port) when it has one. */
  unit?: string;
  /** When the key must be set, if not always-optional (e.g. "provisioned hosts"). */
  requiredWhen?: string;
  /** A value as written in YAML. */
  example?: string;
}

const R = (description: string, more: Omit<KeyReference, "description"> = {}): KeyReference => ({ description, ...more });

const SECTIONS: Record<string, string> = {
  app: "the app",
  postgres: "Postgres",
  redis: "Redis",
  mqtt: "the MQTT broker (Mosquitto)",
  vault: "the static-file vault (Caddy)",
  gitea: "Gitea/Forgejo",
  "gitea.runner": "the in-stack Actions runner",
  browser: "the headless browser",
  proxy: "the proxy (Caddy)",
  haPostgres: "the HA Postgres members (etcd, Patroni, HAProxy)",
  "app.workers[]": "this worker",
  preview: "a preview's app",
};

export const KEY_REFERENCE: Record<string, KeyReference> = {
  env: R("Which environment this stack is; names, protection, limits and policies follow from it. A preview stack (preview-<slug>) may omit it.", {
    requiredWhen: "always (prod, dev)",
    example: "prod",
  }),
  runtime: R("standalone: containers on each host; swarm: Docker Swarm services across the hosts (formed over SSH).", { example: "swarm" }),
  domains: R("The env's domains; the first is its URL and the dev domain hosts previews under /preview/<slug>/.", {
    requiredWhen: "the proxy is enabled",
    example: "[shop.example.com]",
  }),
  hosts: R("The Docker hosts the env runs on: existing ones (docker) or servers to provision (provision). Default: the local engine."),
  "hosts[].name": R("Host name used in labels, placement and vip.nodes.", { example: "web1" }),
  "hosts[].docker": R("Docker endpoint of an existing host.", { requiredWhen: "an existing host (no provision)", example: "ssh://deploy@203.0.113.10" }),
  "hosts[].address": R("LAN or public address, for VRRP unicast peers and Swarm joins.", {
    requiredWhen: "existing hosts with runtime swarm or vip.mode keepalived",
    example: "192.168.1.11",
  }),
  "hosts[].sshUser": R(
    "User the program connects as over SSH (provisioned hosts, swarm forming). Default: deploy on provisioned hosts (cloud-init creates it; root login is disabled), root on existing ones.",
    { example: "deploy" },
  ),
  "hosts[].cpus": R("The host's CPUs: the non-prod budget policy sizes limits against it.", { unit: "CPUs", example: "4" }),
  "hosts[].memoryMb": R("The host's memory, for the non-prod budget policy.", { unit: "MiB", example: "8192" }),
  "hosts[].role": R("Swarm role; the first manager initialises the swarm.", { example: "worker" }),
  "hosts[].provision": R("Provision this host as a new server with cloud-init (Docker, a per-env deploy key, a firewall).", { requiredWhen: "a new server (no docker)" }),
  "hosts[].provision.provider": R("Cloud the server is created in (needs HCLOUD_TOKEN or DIGITALOCEAN_TOKEN).", { example: "hcloud" }),
  "hosts[].provision.type": R("Server type / droplet size.", { example: "cx32" }),
  "hosts[].provision.location": R("Location (hcloud) or region (digitalocean).", { example: "nbg1" }),
  "hosts[].provision.image": R("OS image of the server.", { example: "ubuntu-24.04" }),
  "hosts[].provision.sshKeys": R("Extra SSH public keys (or provider key ids) allowed in, besides the generated deploy key.", { example: '["ssh-ed25519 AAAA… admin"]' }),
  "hosts[].labels": R("Extra Swarm node labels (twinstack.host=<name> is always set).", { example: "{disk: ssd}" }),
  app: R("The application: image, port, env, workers.", { requiredWhen: "prod and dev stacks (not a runner-only stack)" }),
  "app.name": R("Short name every physical name starts with (<app>-<env>-…, <app>_<env>).", { example: "shop" }),
  "app.image": R("Image reference. Prod: a digest or release tag (policy prod-images-immutable); dev: usually a moving tag, re-pulled when the registry's digest changes.", {
    example: "ghcr.io/acme/shop:main",
  }),
  "app.version": R("Release version, set by npm run promote; the app gets APP_VERSION.", { example: "v1.2.3" }),
  "app.pullTrigger": R(
    "Non-prod: re-pull the image when this changes, instead of asking the registry for the tag's digest (for images the deployer cannot look up; CI passes the pushed digest).",
    { example: "sha256:4f…" },
  ),
  "app.port": R("Port the app listens on inside its container (PORT).", { unit: "port", example: "8080" }),
  "app.healthPath": R("Path the health check GETs inside the container; must answer 2xx.", { example: "/healthz" }),
  "app.replicas": R("App instances (Swarm replicas, or numbered containers in standalone).", { example: "2" }),
  "app.websocketPort": R("Second app port for websockets, routed at /ws.", { unit: "port", example: "3001" }),
  "app.publishPort": R("Publish the app directly on this host port (no proxy in front).", { unit: "port", example: "3000" }),
  "app.command": R("Command overriding the image's.", { example: "[node, server.js]" }),
  "app.env": R("Plain environment variables for the app and its workers; quote numbers and booleans.", { example: '{LOG_LEVEL: "info"}' }),
  "app.secretEnv": R("Environment variable → name of a secret config key (pulumi config set --secret <key>).", { example: "{STRIPE_KEY: stripeKey}" }),
  "app.features": R("Feature flags, exported as FEATURE_<NAME>=true|false.", { example: "{NEW_CHECKOUT: true}" }),
  "app.dataPath": R("Directory in the container backed by a per-env volume (DATA_DIR).", { example: "/data" }),
  "app.workers": R("Background processes from the app's image, with the app's env."),
  "app.workers[].name": R("Worker name (<app>-<env>-worker-<name>).", { example: "jobs" }),
  "app.workers[].command": R("Command the worker runs.", { example: "[node, worker.js]" }),
  "app.workers[].replicas": R("Worker instances.", { example: "2" }),
  "app.release": R(
    "Release phase: a command run once per release (image, version or command changed) in a one-shot container of the app image with the app's env, before the new version takes traffic; a failure stops the release and the old version keeps serving. Prod with backups takes a backup first.",
  ),
  "app.release.command": R("The migration command, exec form.", { requiredWhen: "app.release is set", example: "[alembic, upgrade, head]" }),
  "app.healthCheck": R(
    "The health check behind pulumi up's wait and Swarm's start-first updates. Default: GET http://127.0.0.1:<app.port><app.healthPath> with a static busybox mounted into the container, so nothing is needed inside the image.",
  ),
  "app.healthCheck.probeImage": R("Image whose static /bin/busybox the default probe copies into the env's probe volume (e.g. your registry's mirror of it).", {
    example: "registry.example.com/mirror/busybox:1.37-musl",
  }),
  "app.healthCheck.command": R("An exec-form check the image itself can run instead of the default probe.", { example: "[node, healthcheck.js]" }),
  postgres: R("The env's database: dedicated (a container of its own) or shared (a database and role on an existing server)."),
  "postgres.mode": R("dedicated: an own Postgres container; shared: database <app>_<env> on postgres.host.", { example: "shared" }),
  "postgres.host": R("Address of the shared server as the deployer reaches it.", { requiredWhen: "postgres.mode shared", example: "10.0.1.5" }),
  "postgres.port": R("Port of the shared server.", { unit: "port", example: "5432" }),
  "postgres.adminUser": R("Role that creates the env's database and role.", { example: "postgres" }),
  "postgres.adminPasswordKey": R("Name of the secret config key with the admin password.", { requiredWhen: "postgres.mode shared", example: "postgresAdminPassword" }),
  "postgres.sslmode": R("libpq sslmode of connections to the shared server.", { example: "require" }),
  "postgres.version": R("Shared mode: the server's major version; the backup client's pg_dump must be at least as new (default 16).", { example: "17" }),
  "postgres.network": R("Docker network the app reaches the shared server on.", { example: "databases_default" }),
  "postgres.appHost": R("Server host name as app containers see it (default: postgres.host).", { example: "postgres" }),
  "postgres.publishPort": R("Publish the dedicated server on 127.0.0.1:<port> of the host (previews create their databases through it).", { unit: "port", example: "15432" }),
  "postgres.extensions": R("Extensions created in the env's database.", { example: "[pgvector]" }),
  "postgres.connectionLimit": R("Connection limit of the env's role (-1: none).", { unit: "connections", example: "20" }),
  "postgres.template": R("Template database the env's database is created from.", { example: "shop_dev" }),
  redis: R("Redis: none, a dedicated container, or a shared server with a per-env key prefix."),
  "redis.mode": R("none, dedicated (own container) or shared (redis.url).", { example: "dedicated" }),
  "redis.url": R("URL of the shared server.", { requiredWhen: "redis.mode shared", example: "redis://10.0.1.5:6379" }),
  "redis.prefix": R("Key prefix of this env (REDIS_PREFIX); default <env>:.", { example: "shop-prod:" }),
  mqtt: R("An MQTT broker with mTLS, per-env port and certificates."),
  "mqtt.port": R("Published mTLS port, distinct per env.", { unit: "port", example: "8883" }),
  "mqtt.devices": R("Device client certificates issued from the env's CA.", { example: "[player-1]" }),
  vault: R("A static-file vault served read-only from a host directory."),
  "vault.domain": R("Domain the vault is served on.", { example: "vault.example.com" }),
  "vault.hostPath": R("Host directory served read-only.", { requiredWhen: "vault is set", example: "/mnt/vault" }),
  "vault.plainHttp": R("Serve over plain HTTP (devices without TLS); the policy must allow it too.", { example: "true" }),
  gitea: R("Gitea or Forgejo, optionally with an Actions runner."),
  "gitea.kind": R("gitea or forgejo (picks the default images).", { example: "forgejo" }),
  "gitea.sshPort": R("Git-over-SSH port published on the VIP or host.", { unit: "port", example: "2222" }),
  "gitea.runner": R("An Actions runner registered with this Gitea/Forgejo."),
  "gitea.runner.labels": R("Runner labels jobs select.", { example: "[docker]" }),
  "gitea.runner.registrationTokenKey": R("Name of the secret config key with the registration token.", { requiredWhen: "gitea.runner.enabled", example: "giteaRunnerToken" }),
  browser: R("A headless Chrome the app reaches at browser:<port>."),
  "browser.port": R("Port of the browser service.", { unit: "port", example: "3000" }),
  proxy: R("Caddy in front: domains, TLS, basic auth and headers."),
  "proxy.tls": R("acme (Let's Encrypt), internal (Caddy's CA) or selfsigned (the stack's own CA, exported as caCertificate).", { example: "selfsigned" }),
  "proxy.acmeEmail": R("Contact e-mail for ACME.", { example: "ops@example.com" }),
  "proxy.httpPort": R("Published HTTP port.", { unit: "port", example: "8080" }),
  "proxy.httpsPort": R("Published HTTPS port (also in url and previewUrl when not 443).", { unit: "port", example: "8443" }),
  "proxy.basicAuth": R("Users non-prod sites require (passwords generated, output basicAuthPasswords).", {
    requiredWhen: "dev stacks with the proxy enabled",
    example: "[{user: dev}]",
  }),
  "proxy.basicAuth[].user": R("User name.", { example: "dev" }),
  "proxy.headers": R("Extra response headers on every site.", { example: "{Strict-Transport-Security: max-age=31536000}" }),
  "proxy.sites": R("Extra sites besides the main domains and tenants."),
  "proxy.sites[].domains": R("Domains of the site.", { example: "[admin.example.com]" }),
  "proxy.sites[].upstream": R("Where the site proxies to: app or host:port.", { example: "browser:3000" }),
  "proxy.bindAddress": R("Host address the proxy publishes on (default: the VIP, else all).", { example: "203.0.113.10" }),
  vip: R("A virtual IP held by the hosts: keepalived VRRP on a LAN, or a Hetzner floating / DigitalOcean reserved IP."),
  "vip.mode": R("none, keepalived, hcloud or digitalocean.", { example: "keepalived" }),
  "vip.address": R("The virtual IP.", { requiredWhen: "vip.mode keepalived", example: "192.168.1.51" }),
  "vip.interface": R("Interface VRRP runs on.", { example: "eth0" }),
  "vip.routerId": R("VRRP virtual_router_id, distinct per env on a LAN (a moving hcloud floating IP: default 51, on the env's own private network).", {
    requiredWhen: "vip.mode keepalived",
    example: "51",
  }),
  "vip.nodes": R("Hosts holding the VIP, highest priority first (default: all; cloud modes: the hosts provisioned on that cloud).", { example: "[web1, web2]" }),
  "vip.location": R("Cloud location/region of the floating or reserved IP (default: the first host's).", { example: "nbg1" }),
  "vip.apiTokenKey": R("Name of the secret config key with the Hetzner API token keepalived's notify_master assigns the floating IP with (read/write token of the project).", {
    requiredWhen: "vip.mode hcloud on two or more nodes",
    example: "vipApiToken",
  }),
  budget: R("How much of each host non-prod limits may take (policy nonprod-resource-budget)."),
  "budget.share": R("Share of a host's CPUs and memory this non-prod env's limits may add up to.", { unit: "fraction", example: "0.5" }),
  "budget.defaultLimits": R("Limits of a non-prod workload that sets none.", { example: "{cpus: 0.25, memoryMb: 256}" }),
  runners: R("An ephemeral Forgejo/Gitea runner fleet on DigitalOcean or Hetzner; count 0 = no machines."),
  "runners.count": R("Runner machines.", { example: "2" }),
  "runners.provider": R("Cloud of the runner machines.", { example: "hcloud" }),
  "runners.size": R("Machine size / server type.", { example: "cx22" }),
  "runners.region": R("Region / location.", { example: "fsn1" }),
  "runners.image": R("Golden snapshot id or base image (default: the provider's Ubuntu 24.04).", { example: "ubuntu-24.04" }),
  "runners.golden": R("runners.image already has Docker and the runner: skip installing them.", { example: "true" }),
  "runners.forge": R("forgejo or gitea.", { example: "gitea" }),
  "runners.forgeUrl": R("URL of the forge the runners register with.", { requiredWhen: "runners.count > 0", example: "https://git.example.com" }),
  "runners.registrationTokenKey": R("Name of the secret config key with the registration token.", { requiredWhen: "runners.count > 0", example: "runnerRegistrationToken" }),
  "runners.labels": R("Runner labels.", { example: "[docker]" }),
  "runners.runnerVersion": R("forgejo-runner / act_runner version installed.", { example: "6.3.1" }),
  "runners.adminCidr": R("The only range allowed to SSH into runner machines.", { requiredWhen: "runners.count > 0", example: "203.0.113.0/24" }),
  "runners.sshKeys": R("SSH keys (provider ids or public keys) on the runner machines.", { example: '["12345"]' }),
  dns: R("DNS records for tenants' domains."),
  "dns.provider": R("none, digitalocean or hcloud (needs its token).", { example: "hcloud" }),
  "dns.target": R("Address records point at (default: the VIP, else the first host's address).", { requiredWhen: "tenants with no VIP or host address", example: "203.0.113.10" }),
  "dns.ttl": R("Record TTL.", { unit: "seconds", example: "300" }),
  "dns.manageZones": R("Also declare the tenants' zones (default: records in existing zones).", { example: "true" }),
  tenants: R("Tenants: each brings domains and/or orgs with subdomain templates, and gets DNS records and a proxy site."),
  "tenants[].name": R("Tenant name.", { example: "acme" }),
  "tenants[].domains": R("Apex domains the tenant brings.", { example: "[acme.example]" }),
  "tenants[].orgs": R("Orgs whose subdomains the templates generate."),
  "tenants[].orgs[].org": R("Org name ({org} in templates).", { example: "acme" }),
  "tenants[].orgs[].tld": R("Top-level domain ({tld} in templates).", { example: "com" }),
  "tenants[].templates": R("Subdomain templates.", { example: '["ai.{org}.{tld}"]' }),
  "tenants[].upstream": R("Where the tenant's site proxies to.", { example: "app" }),
  haPostgres: R("HA Postgres: etcd and Patroni, one member per host, HAProxy routing to the leader."),
  "haPostgres.members": R("Members (one per host; needs that many hosts).", { example: "3" }),
  "haPostgres.etcdImage": R("etcd image.", { example: ETCD.image }),
  "haPostgres.haproxyImage": R("HAProxy image.", { example: HAPROXY.image }),
  "haPostgres.port": R("HAProxy port the app connects to (routes to the leader).", { unit: "port", example: "5000" }),
  provisioning: R("Settings of provisioned hosts."),
  "provisioning.adminCidr": R("The only range allowed to SSH into provisioned hosts (default: runners.adminCidr).", {
    requiredWhen: "any host has provision",
    example: "203.0.113.0/24",
  }),
  "provisioning.privateNetwork": R("hcloud: a private network the provisioned hosts join; Swarm, etcd and Patroni talk over it."),
  "provisioning.privateNetwork.enabled": R(
    "Create the network and attach the hcloud hosts. Default: on when two or more hcloud hosts form a Swarm or run HA Postgres (their firewall admits only the admin range and the public ports); turning it off for them is an error.",
    { example: "true" },
  ),
  "provisioning.privateNetwork.ipRange": R("Range of the network.", { example: "10.0.0.0/16" }),
  "provisioning.privateNetwork.subnet": R("Subnet the hosts get .11, .12, … of, in config order.", { example: "10.0.1.0/24" }),
  "provisioning.privateNetwork.zone": R(
    "Hetzner network zone; every host must be in it. Default: the zone of the hosts' location (fsn1, nbg1, hel1: eu-central; ash: us-east; hil: us-west; sin: ap-southeast).",
    { example: "eu-central" },
  ),
  backup: R("Scheduled pg_dump backups into a per-env volume, with rotation."),
  "backup.keep": R("Dumps kept.", { example: "14" }),
  "backup.intervalSeconds": R("Time between dumps.", { unit: "seconds", example: "21600" }),
  "backup.image": R(
    "Image whose pg_dump/pg_restore take the dumps; its major version must be at least the server's. Default: the dedicated server's image, else postgres:<postgres.version>-alpine (HA Postgres: the Spilo major).",
    { example: "postgres:17-alpine" },
  ),
  monitoring: R("Prometheus with blackbox probes of every site, node-exporter, cAdvisor, postgres_exporter and Alertmanager as containers of the env. Off by default."),
  "monitoring.scrapeIntervalSeconds": R("How often Prometheus scrapes and probes.", { unit: "seconds", example: "15" }),
  "monitoring.retentionDays": R("Days of metrics kept.", { unit: "days", example: "30" }),
  "monitoring.alerts": R("Where alerts go: exactly one of a webhook or email."),
  "monitoring.alerts.webhookUrlKey": R("Name of the secret config key holding the webhook URL (Slack, Matrix, ntfy; tokens live in URLs).", { example: "alertWebhookUrl" }),
  "monitoring.alerts.email": R("Alerts by email through an SMTP server."),
  "monitoring.alerts.email.to": R("Recipient.", { requiredWhen: "alerts by email", example: "ops@example.com" }),
  "monitoring.alerts.email.from": R("Sender.", { requiredWhen: "alerts by email", example: "alerts@example.com" }),
  "monitoring.alerts.email.smarthost": R("SMTP server as host:port.", { requiredWhen: "alerts by email", example: "smtp.example.com:587" }),
  "monitoring.alerts.email.username": R("SMTP login.", { example: "alerts@example.com" }),
  "monitoring.alerts.email.passwordKey": R("Name of the secret config key holding the SMTP password.", { example: "smtpPassword" }),
  "monitoring.alerts.email.requireTls": R("Refuse to send without STARTTLS.", { example: "true" }),
  "monitoring.alerts.repeatIntervalHours": R("How often a firing alert is sent again.", { unit: "hours", example: "4" }),
  "monitoring.thresholds": R("Alert thresholds; the defaults are the Makapix seed's (§10)."),
  "monitoring.thresholds.latencyP99Ms": R("A site's P99 probe latency above this fires.", { unit: "ms", example: "500" }),
  "monitoring.thresholds.diskUsedPercent": R("A host filesystem fuller than this fires.", { unit: "percent", example: "80" }),
  "monitoring.thresholds.memoryUsedPercent": R("Host memory use above this fires.", { unit: "percent", example: "90" }),
  "monitoring.thresholds.certificateDays": R("A site certificate expiring in fewer days fires.", { unit: "days", example: "14" }),
  "monitoring.thresholds.dbConnectionsPercent": R("Database connections above this share of max_connections fire.", { unit: "percent", example: "80" }),
  "monitoring.thresholds.containerMemoryPercent": R("A container using more of its memory limit fires (dev over its limits).", { unit: "percent", example: "90" }),
  "monitoring.thresholds.containerCpuThrottledPercent": R("A container throttled in more of its CPU periods fires.", { unit: "percent", example: "50" }),
  "monitoring.images": R("Images of the monitoring containers (see docs/images.md)."),
  "monitoring.images.prometheus": R("Prometheus image.", { example: MONITORING_IMAGES.prometheus }),
  "monitoring.images.alertmanager": R("Alertmanager image.", { example: MONITORING_IMAGES.alertmanager }),
  "monitoring.images.blackbox": R("Blackbox exporter image.", { example: MONITORING_IMAGES.blackbox }),
  "monitoring.images.nodeExporter": R("node-exporter image.", { example: MONITORING_IMAGES.nodeExporter }),
  "monitoring.images.cadvisor": R("cAdvisor image.", { example: MONITORING_IMAGES.cadvisor }),
  "monitoring.images.postgresExporter": R("postgres_exporter image.", { example: MONITORING_IMAGES.postgresExporter }),
  preview: R("Preview stacks (preview-<slug>): where they read dev from and their limits."),
  "preview.devStack": R("Stack whose previewHandoff output the preview reads (org/project/stack allowed).", { example: "acme/shop/dev" }),
  "preview.branch": R("Git branch of the preview when the stack is not named preview-<slug> (on a preview-<slug> stack it must have that slug).", { example: "feature/login" }),
  "preview.cloneDevDatabase": R("Create the preview's database from the dev database as a template.", { example: "true" }),
};

/** The reference of a key: its own entry, else the entry its family shares (limits, image, enabled). */
export function keyReference(key: string): KeyReference | undefined {
  if (KEY_REFERENCE[key]) return KEY_REFERENCE[key];
  const parent = key.slice(0, key.lastIndexOf("."));
  const last = key.slice(key.lastIndexOf(".") + 1);
  const owner = (p: string) => SECTIONS[p] ?? `the ${p} container`;
  if (last === "limits")
    return R(`CPU and memory limits of ${owner(parent)} (non-prod default: budget.defaultLimits; previews: preview.limits).`, { example: "{cpus: 0.5, memoryMb: 512}" });
  if (/[lL]imits\.cpus$/.test(key)) return R("CPU limit (a fraction is allowed).", { unit: "CPUs", requiredWhen: "its limits are set", example: "0.5" });
  if (/[lL]imits\.memoryMb$/.test(key)) return R("Memory limit.", { unit: "MiB", requiredWhen: "its limits are set", example: "512" });
  if (last === "image") return R(`Image of ${owner(parent)}.`);
  if (last === "enabled") return R(`Turns ${owner(parent)} on.`, { example: "true" });
  return undefined;
}
