// The CrossGuard pack: `pulumi preview -s prod --policy-pack policy`. Only constructs the pack;
// the policies live in their own files (tests and the offline plan import them from policies.ts).
import { PolicyPack } from "@pulumi/policy";
import "./programConfig";
import { PACK_DESCRIPTION, PACK_ENFORCEMENT_LEVEL, PACK_NAME, policies } from "./policies";

new PolicyPack(PACK_NAME, {
  description: PACK_DESCRIPTION,
  enforcementLevel: PACK_ENFORCEMENT_LEVEL,
  policies,
});
