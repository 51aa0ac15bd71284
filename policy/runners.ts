// Rule 10: runner machines are tagged ephemeral and carry no reserved/floating IP and no volume,
// so scaling the fleet to zero leaves nothing running and nothing billed.
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { physicalName, T } from "./lib/resources";
import { EPHEMERAL_TAG } from "../model/labels";
import { RUNNER_MACHINE_NAME_RE } from "../model/names";

/** The tag (DigitalOcean) or label key with value "true" (Hetzner) that marks a runner machine ephemeral (model/labels.ts). */
export const EPHEMERAL = EPHEMERAL_TAG;
/** Runner machines are named model/names.ts runnerMachineName (<app>-<env>-runner-<i>); provisioned hosts hostServerName. */
const RUNNER_NAME = RUNNER_MACHINE_NAME_RE;

/** Resources that attach an address or a disk to a machine, and the property naming the machine. */
const ATTACHMENTS: Record<string, { key: string; what: string }> = {
  [T.doReservedIp]: { key: "dropletId", what: "reserved IP" },
  [T.doReservedIpAssignment]: { key: "dropletId", what: "reserved IP" },
  [T.doFloatingIp]: { key: "dropletId", what: "floating IP" },
  [T.doFloatingIpAssignment]: { key: "dropletId", what: "floating IP" },
  [T.doVolumeAttachment]: { key: "dropletId", what: "volume" },
  [T.hcloudFloatingIp]: { key: "serverId", what: "floating IP" },
  [T.hcloudFloatingIpAssignment]: { key: "serverId", what: "floating IP" },
  [T.hcloudVolume]: { key: "serverId", what: "volume" },
  [T.hcloudVolumeAttachment]: { key: "serverId", what: "volume" },
};

function isMachine(r: PolicyResource): boolean {
  return r.type === T.doDroplet || r.type === T.hcloudServer;
}

/** True for a droplet or Hetzner server named `...-runner-<i>`, tagged `runner` or labelled `role: runner`. */
export function isRunnerMachine(r: PolicyResource): boolean {
  if (!isMachine(r)) return false;
  const name = physicalName(r.props, r.name);
  const tags: unknown[] = Array.isArray(r.props.tags) ? r.props.tags : [];
  const labels = r.props.labels && typeof r.props.labels === "object" ? (r.props.labels as Record<string, unknown>) : {};
  return RUNNER_NAME.test(name) || tags.includes("runner") || labels.role === "runner";
}

function isEphemeral(r: PolicyResource): boolean {
  if (r.type === T.doDroplet) return Array.isArray(r.props.tags) && r.props.tags.includes(EPHEMERAL);
  const labels = r.props.labels && typeof r.props.labels === "object" ? (r.props.labels as Record<string, unknown>) : {};
  return String(labels[EPHEMERAL]) === "true";
}

/**
 * Rule 10 (stack policy, mandatory): runner machines are tagged {@link EPHEMERAL} and have no
 * reserved/floating IP and no volume attached, so scaling the fleet to zero leaves nothing billed.
 */
export const runnersEphemeral: StackValidationPolicy = {
  name: "runners-ephemeral",
  description: "Runner machines are tagged ephemeral and carry no reserved IP or volume.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const runners = args.resources.filter(isRunnerMachine);
    if (runners.length === 0) return;
    const runnerUrns = new Set(runners.map((r) => r.urn));

    for (const r of runners) {
      const name = physicalName(r.props, r.name);
      if (!isEphemeral(r)) {
        const fix = r.type === T.doDroplet ? `add "${EPHEMERAL}" to its tags` : `add the label ${EPHEMERAL}: "true"`;
        reportViolation(`runner machine "${name}" is not tagged ${EPHEMERAL}: ${fix}`, r.urn);
      }
      if (r.type === T.doDroplet && Array.isArray(r.props.volumeIds) && r.props.volumeIds.length > 0) {
        reportViolation(`runner machine "${name}" has volumes attached (volumeIds): runners keep nothing; drop the volumes`, r.urn);
      }
    }

    for (const r of args.resources) {
      const attachment = ATTACHMENTS[r.type];
      if (!attachment) continue;
      const viaProperty = r.propertyDependencies[attachment.key] ?? [];
      const target = viaProperty.find((d) => runnerUrns.has(d.urn));
      if (!target) continue;
      reportViolation(
        `${attachment.what} "${physicalName(r.props, r.name)}" is attached to runner machine "${physicalName(target.props, target.name)}": ` +
          `runners are ephemeral and carry no ${attachment.what}; remove it (keep reserved IPs and volumes on provisioned hosts)`,
        r.urn,
      );
    }
  },
};
