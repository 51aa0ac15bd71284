// Rule 2: no two stacks of the program claim the same VIP, VRRP router id, published host port,
// database, role, domain, MQTT port, Redis prefix, volume path or preview slug. The pack reads every
// Pulumi.<stack>.yaml beside this stack's file and compares what each one claims.
import { StackValidationPolicy } from "@pulumi/policy";
import { CLAIM_LABELS, Claim, claimText, findClashes, stackClaims } from "../model/claims";
import { EVERY_NODE, publishedPorts } from "./lib/ports";
import { envFromStackName, siblingStacks, stackInfo } from "./lib/stackContext";

/** The component whose services publish the ports the claims name. */
const INSTANCE_STACK_TYPE = "twinstack:index:InstanceStack";

/**
 * Rule 2 (stack policy, mandatory): no two stacks claim the same VIP, VRRP router id, host port,
 * database, role, domain, MQTT port, Redis prefix, volume path or preview slug. The claims come from
 * `model/claims` (`stackClaims`) of each stack file, and this stack's port claims are compared with
 * the ports its declared resources publish ({@link portClaimsMismatch}). Reads the sibling
 * Pulumi.<stack>.yaml files (TWINSTACK_STACK_FILE_PATH points at this stack's).
 */
export const noSharedClaims: StackValidationPolicy = {
  name: "no-shared-claims",
  description:
    "No two stacks of the program claim the same VIP, VRRP router id, published host port, database, role, domain, MQTT port, Redis prefix, volume path or preview slug.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const anchor = args.resources.find((r) => r.urn.startsWith("urn:pulumi:"));
    if (!anchor) return;
    const info = stackInfo(anchor.urn);
    if (!info) return;
    const self = info.loaded;
    if (!self.config) {
      reportViolation(
        `cannot read stack "${info.stack}"'s config from ${self.display} (${self.problems[0] ?? "no config"}): ` +
          "point TWINSTACK_STACK_FILE_PATH at the stack file so its claims can be compared with the other stacks",
      );
      return;
    }
    const nameEnv = envFromStackName(info.stack);
    if (nameEnv && self.config.env !== nameEnv) {
      reportViolation(
        `stack "${info.stack}" sets twinstack:env "${self.config.env}" in ${self.display}, but a stack named "${info.stack}" is ${nameEnv}: ` + `set twinstack:env: ${nameEnv}`,
      );
    }

    const mine = stackClaims(self.config, { stack: info.stack });
    // The claims are compared across stacks from each stack's config; here they are checked against
    // what this stack's program really publishes, so claims and program cannot disagree.
    const hostNames = self.config.hosts.map((h) => h.name);
    const declaresInstance = args.resources.some((r) => r.type === INSTANCE_STACK_TYPE);
    if (declaresInstance) {
      for (const problem of portClaimsMismatch(mine, publishedPorts(args.resources), hostNames)) {
        reportViolation(`stack "${info.stack}" (${self.display}): ${problem}`);
      }
    }
    for (const other of siblingStacks(self)) {
      if (!other.config) {
        reportViolation(
          `cannot compare with stack "${other.stack}": ${other.display} does not validate (${other.problems[0] ?? "unreadable"}): ` +
            "fix that file so the stacks' isolation can be checked",
        );
        continue;
      }
      for (const { mine: m, theirs: t } of findClashes(mine, stackClaims(other.config, { stack: other.stack }))) {
        if (m.kind === "previewSlug") {
          // Neither file may hold the key (a preview-<slug> stack takes its branch from its name).
          const from = (c: typeof m, display: string) => (c.key === "the stack name" ? `its stack name; ${display}` : `${c.key} in ${display}`);
          reportViolation(
            `stack "${info.stack}" is a preview of branch slug ${m.value} (from ${from(m, self.display)}), as is stack "${other.stack}" (from ${from(t, other.display)}): ` +
              "both would run one container, database, image tag and route: keep one of the two stacks (`pulumi destroy --remove` the other, and delete its file)",
          );
          continue;
        }
        const label = CLAIM_LABELS[m.kind];
        const theirLabel = CLAIM_LABELS[t.kind];
        const same = m.value === t.value && m.kind === t.kind;
        reportViolation(
          `stack "${info.stack}" claims ${label} ${claimText(m)} (${m.key} in ${self.display}), ` +
            (same
              ? `which stack "${other.stack}" also claims (${t.key} in ${other.display})`
              : `which overlaps stack "${other.stack}"'s ${theirLabel} ${claimText(t)} (${t.key} in ${other.display})`) +
            `: give "${info.stack}" its own value in ${m.key}`,
        );
      }
    }
  },
};

/**
 * Differences between the host ports a stack claims and the ports its resources publish, compared
 * as `<host>|<address>:<port>` (a Swarm ingress port counts on every host of the stack).
 */
export function portClaimsMismatch(claims: Claim[], published: ReturnType<typeof publishedPorts>, hostNames: string[]): string[] {
  const claimed = new Set(claims.filter((c) => (c.kind === "hostPort" || c.kind === "mqttPort") && c.host).map((c) => `${c.host}|${c.value.slice(c.value.lastIndexOf("|") + 1)}`));
  const actual = new Map<string, string>();
  for (const p of published) {
    for (const host of p.host === EVERY_NODE ? hostNames : [p.host]) actual.set(`${host}|${p.address}:${p.port}`, p.resource);
  }
  const problems: string[] = [];
  for (const [binding, resource] of actual) {
    if (!claimed.has(binding)) problems.push(`${resource} publishes ${binding.replace("|", " ")}, which the stack's claims do not include (claims and program disagree)`);
  }
  for (const binding of claimed) {
    if (!actual.has(binding)) problems.push(`the stack's claims include ${binding.replace("|", " ")}, which no declared resource publishes (claims and program disagree)`);
  }
  return problems;
}
