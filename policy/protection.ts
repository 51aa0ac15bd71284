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

export interface ProtectionConfig {
  protectedTypes: string[];
}

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
