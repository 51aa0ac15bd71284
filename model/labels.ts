// Docker labels twinstack puts on what it declares (containers, services, networks, volumes), one
// definition each: the program sets them, the policy pack and the preview route script find things
// by them. Keys are namespaced `twinstack.*`, as Docker recommends for labels
// (https://docs.docker.com/engine/manage-resources/labels/#label-keys-and-values).

/**
 * Docker label keys the program sets on everything it declares and the policies select by
 * (values: see each key). Namespaced `twinstack.*` as Docker recommends
 * (https://docs.docker.com/engine/manage-resources/labels/#label-keys-and-values).
 */
export const LABELS = {
  /** The environment token (`prod`, `dev`, `preview`) of everything an env declares. */
  env: "twinstack.env",
  /** The Pulumi stack name. */
  stack: "twinstack.stack",
  /** The host (`hosts[].name`) a workload runs on; on Swarm nodes, the node label constraints match. */
  host: "twinstack.host",
  /** The workload's role: app, worker, postgres, redis, keepalived, backup, release, monitoring, … */
  role: "twinstack.role",
  /** The value that finds an env's Caddy container (the preview route script looks it up). */
  proxy: "twinstack.proxy",
  /** The preview's branch slug. */
  preview: "twinstack.preview",
  /** Which monitoring part a container is (prometheus, alertmanager, cadvisor, …). */
  monitoring: "twinstack.monitoring",
  /** The keepalived VIP address of a node (Swarm node label). */
  vip: "twinstack.vip",
  /** The VRRP router id of a node's keepalived (Swarm node label). */
  routerId: "twinstack.vrrp-router-id",
} as const;

/**
 * The tag (DigitalOcean) or label key with value "true" (Hetzner) that marks a CI runner machine
 * ephemeral: the fleet sets it, the pack's runners-ephemeral rule requires it.
 */
export const EPHEMERAL_TAG = "ephemeral";
