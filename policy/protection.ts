// Rule 5: prod databases, volumes and VIPs are protected against deletion.
import { ResourceValidationPolicy } from "@pulumi/policy";
import { physicalName, T } from "./lib/resources";
import { stackInfo } from "./lib/stackContext";

/** Types prod must protect, with what to call them; `protectedTypes` in the policy config replaces the list. */
export const DEFAULT_PROTECTED_TYPES: Record<string, string> = {
  [T.pgDatabase]: "database",
  [T.volume]: "volume",
  [T.doVolume]: "volume",
  [T.hcloudVolume]: "volume",
  [T.hcloudFloatingIp]: "VIP",
  [T.doReservedIp]: "VIP",
  [T.doFloatingIp]: "VIP",
};

/**
 * Policy config of {@link prodDataProtected}: `protectedTypes` are Pulumi type tokens
 * (@default the keys of {@link DEFAULT_PROTECTED_TYPES}).
 */
export interface ProtectionConfig {
  protectedTypes: string[];
}

/**
 * Rule 5 (resource policy, mandatory): prod resources of a protected type (databases, Docker and cloud
 * volumes, floating/reserved IPs) are declared with `protect: true`.
 */
export const prodDataProtected: ResourceValidationPolicy = {
  name: "prod-data-protected",
  description: "Prod databases, volumes and VIPs are protected against deletion (protect: true).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      protectedTypes: {
        type: "array",
        items: { type: "string" },
        default: Object.keys(DEFAULT_PROTECTED_TYPES),
        description: "Resource type tokens that must carry protect: true in prod.",
      },
    },
  },
  validateResource: (args, reportViolation) => {
    const types = args.getConfig<Partial<ProtectionConfig>>().protectedTypes ?? Object.keys(DEFAULT_PROTECTED_TYPES);
    if (!types.includes(args.type)) return;
    if (stackInfo(args.urn)?.env !== "prod") return;
    if (args.opts.protect) return;
    const what = DEFAULT_PROTECTED_TYPES[args.type] ?? args.type;
    const name = physicalName(args.props, args.name);
    reportViolation(`prod ${what} "${name}" is not protected: declare it with { protect: true } so \`pulumi destroy\` or a replacement cannot delete it`);
  },
};
