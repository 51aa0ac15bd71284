// Violations as a person reads them: one line per cause. The policies report per resource (what
// the engine and `pulumi preview` show); one config mistake often trips many of them at once.
import { nameFromUrn } from "./lib/resources";
import type { Violation } from "./offline";

/**
 * One line of the summary: violations of one cause folded together, or a root cause with the count
 * of the violations that follow from it.
 */
export interface ViolationGroup {
  policy: string;
  enforcementLevel: "mandatory" | "advisory";
  /** The resources the violations name (empty for stack-level ones). */
  resources: string[];
  /** The first violation's message: the others differ only in the names they quote. */
  message: string;
  /** Violations folded into this line (1 when it stands alone). */
  count: number;
  /** True when the folded messages differ in the names they quote (the line shows the first). */
  differing?: boolean;
  /** For a root cause: the violations that follow from it, by policy. */
  follows?: Record<string, number>;
}

/**
 * A stack-level violation that makes every other one a consequence: the stack file's env is not
 * the stack's own (a prod file saying `env: dev` names, protects and limits everything as dev).
 */
const ROOT_CAUSES = [/sets twinstack:env "[^"]*" in .*, but a stack named "[^"]*" is/];

/** A message with its quoted names blanked: violations of one cause share it. */
function template(message: string): string {
  return message.replace(/"[^"]*"/g, '"…"').replace(/\bname it \S+/g, "name it …");
}

/**
 * Folds violations by policy and message template (quoted names blanked); if a root-cause violation
 * (a stack file whose twinstack:env is not the stack's own) is present, returns it alone with the others counted in `follows`.
 * Mandatory groups come first.
 */
export function groupViolations(violations: Violation[]): ViolationGroup[] {
  const root = violations.find((v) => v.enforcementLevel === "mandatory" && ROOT_CAUSES.some((re) => re.test(v.message)));
  if (root) {
    const follows: Record<string, number> = {};
    for (const v of violations) if (v !== root) follows[v.policy] = (follows[v.policy] ?? 0) + 1;
    return [{ policy: root.policy, enforcementLevel: root.enforcementLevel, resources: [], message: root.message, count: violations.length, follows }];
  }
  const groups = new Map<string, ViolationGroup>();
  for (const v of violations) {
    const key = `${v.enforcementLevel}\0${v.policy}\0${template(v.message)}`;
    const group = groups.get(key) ?? { policy: v.policy, enforcementLevel: v.enforcementLevel, resources: [], message: v.message, count: 0 };
    group.count += 1;
    if (v.message !== group.message) group.differing = true;
    if (v.resource) group.resources.push(nameFromUrn(v.resource));
    groups.set(key, group);
  }
  // Mandatory first; within a level, in the order the policies reported them.
  return [...groups.values()].sort((a, b) => Number(a.enforcementLevel !== "mandatory") - Number(b.enforcementLevel !== "mandatory"));
}

/** One line `policy (level): where: message`, naming up to three resources, with the folded count. */
export function formatGroup(g: ViolationGroup): string {
  const where = g.resources.length === 0 ? "stack" : g.resources.length <= 3 ? g.resources.join(", ") : `${g.resources.slice(0, 2).join(", ")} and ${g.resources.length - 2} more`;
  let line = `${g.policy} (${g.enforcementLevel}): ${where}: ${g.message}`;
  if (g.follows) {
    const parts = Object.entries(g.follows).map(([policy, n]) => `${policy} ×${n}`);
    if (parts.length) line += ` (fixing it also clears the ${g.count - 1} violations it causes: ${parts.join(", ")})`;
  } else if (g.differing) {
    line += ` (likewise for the other ${g.count - 1})`;
  }
  return line;
}
