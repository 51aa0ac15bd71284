// Rule 2: no two stacks of the program claim the same VIP, VRRP router id, published host port,
// database, role, domain, MQTT port, Redis prefix or volume path. The pack reads every
// Pulumi.<stack>.yaml beside this stack's file and compares what each one claims.
import { StackValidationPolicy } from "@pulumi/policy";
import { CLAIM_LABELS, findClashes, stackClaims } from "../stacks/claims";
import { envFromStackName, siblingStacks, stackInfo } from "./lib/stackContext";

export const noSharedClaims: StackValidationPolicy = {
  name: "no-shared-claims",
  description:
    "No two stacks of the program claim the same VIP, VRRP router id, published host port, database, role, domain, MQTT port, Redis prefix or volume path.",
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
        `stack "${info.stack}" sets twinstack:env "${self.config.env}" in ${self.display}, but a stack named "${info.stack}" is ${nameEnv}: ` +
          `set twinstack:env: ${nameEnv}`,
      );
    }

    const mine = stackClaims(self.config, { stack: info.stack });
    for (const other of siblingStacks(self)) {
      if (!other.config) {
        reportViolation(
          `cannot compare with stack "${other.stack}": ${other.display} does not validate (${other.problems[0] ?? "unreadable"}): ` +
            "fix that file so the stacks' isolation can be checked",
        );
        continue;
      }
      for (const { mine: m, theirs: t } of findClashes(mine, stackClaims(other.config, { stack: other.stack }))) {
        const label = CLAIM_LABELS[m.kind];
        const theirLabel = CLAIM_LABELS[t.kind];
        const same = m.value === t.value && m.kind === t.kind;
        reportViolation(
          `stack "${info.stack}" claims ${label} ${m.value} (${m.key} in ${self.display}), ` +
            (same
              ? `which stack "${other.stack}" also claims (${t.key} in ${other.display})`
              : `which overlaps stack "${other.stack}"'s ${theirLabel} ${t.value} (${t.key} in ${other.display})`) +
            `: give "${info.stack}" its own value in ${m.key}`,
        );
      }
    }
  },
};
