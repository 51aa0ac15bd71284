// Rule 9: prod services have health checks and roll back a failed update. Swarm services: a
// health check and updateConfig.failureAction "rollback"; standalone app containers: a health
// check, wait: true, and create-before-delete (no fixed name, no deleteBeforeReplace).
import { ResourceValidationPolicy } from "@pulumi/policy";
import { physicalName, Props, T, workloadLabels } from "./lib/resources";
import { stackInfo } from "./lib/stackContext";
import { LABELS } from "../model/labels";

/** Roles that take traffic: a new version must prove healthy before it replaces the old one. */
export const HEALTH_GATED_ROLES = new Set(["app"]);

function hasHealthcheck(healthcheck: unknown): boolean {
  const tests = (healthcheck as { tests?: unknown } | undefined)?.tests;
  return Array.isArray(tests) && tests.length > 0 && String(tests[0]).toUpperCase() !== "NONE";
}

/** A name the program set (an autoname, which the engine fills in as <logical>-<7 hex>, is not fixed). */
function hasFixedName(props: Props, logicalName: string): boolean {
  if (typeof props.name !== "string" || props.name === "") return false;
  const rest = props.name.startsWith(`${logicalName}-`) ? props.name.slice(logicalName.length + 1) : undefined;
  return !(rest !== undefined && /^[0-9a-f]{7}$/.test(rest));
}

/**
 * Rule 9 (resource policy, mandatory): every prod Swarm service rolls back a failed update
 * (`updateConfig.failureAction: "rollback"` and a `rollbackConfig`), and one of a
 * {@link HEALTH_GATED_ROLES} role has a health check; a prod app container has a health check, is
 * declared with `wait: true` and is replaced create-first (no fixed name, no deleteBeforeReplace).
 */
export const prodHealthGated: ResourceValidationPolicy = {
  name: "prod-health-gated",
  description: "Prod services have health checks and roll back on a failed update.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (args.type !== T.service && args.type !== T.container) return;
    const role = workloadLabels(args.type, args.props)[LABELS.role];
    if (args.type === T.container && !HEALTH_GATED_ROLES.has(role ?? "")) return;
    if (stackInfo(args.urn)?.env !== "prod") return;
    const props: Props = args.props;
    const name = physicalName(props, args.name);

    if (args.type === T.service) {
      const problems: string[] = [];
      if (HEALTH_GATED_ROLES.has(role ?? "") && !hasHealthcheck(props.taskSpec?.containerSpec?.healthcheck)) {
        problems.push("has no health check (taskSpec.containerSpec.healthcheck)");
      }
      if (props.updateConfig?.failureAction !== "rollback") problems.push('does not roll back a failed update (set updateConfig.failureAction: "rollback")');
      if (!props.rollbackConfig) problems.push("has no rollbackConfig");
      for (const p of problems) reportViolation(`prod service "${name}" ${p}`);
      return;
    }

    if (!hasHealthcheck(props.healthcheck)) reportViolation(`prod app container "${name}" has no health check: give it healthcheck.tests (twinstack:app.healthPath)`);
    if (props.wait !== true)
      reportViolation(`prod app container "${name}" is not health-gated: set wait: true so \`pulumi up\` fails on an unhealthy new container while the old one keeps serving`);
    if (hasFixedName(props, args.name)) {
      reportViolation(`prod app container "${name}" has a fixed name, which forces delete-before-replace: leave name unset so the new container starts before the old one goes`);
    } else if (args.opts.deleteBeforeReplace === true) {
      reportViolation(`prod app container "${name}" is replaced delete-first: drop deleteBeforeReplace so a failed new version leaves the old one serving`);
    }
  },
};
