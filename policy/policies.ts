// Every policy of the pack, in rule order. Tests and the offline plan import this list; only
// index.ts builds the PolicyPack (constructing one starts the analyzer's gRPC server).
import { Policies } from "@pulumi/policy";
import { nonProdBudget } from "./budget";
import { noSharedClaims } from "./crossStack";
import { noPublicDataPorts } from "./firewall";
import { prodHealthGated } from "./health";
import { prodImagesImmutable } from "./images";
import { envTokenInNames } from "./naming";
import { previewStaysOnDev } from "./preview";
import { prodDataProtected } from "./protection";
import { nonProdSitesPrivate, sitesUseTls } from "./proxy";
import { runnersEphemeral } from "./runners";

/** The policy pack's name, as `pulumi preview --policy-pack` reports it. */
export const PACK_NAME = "twinstack-isolation";
/** The policy pack's one-line description. */
export const PACK_DESCRIPTION = "Keeps prod, dev and preview stacks of twinstack isolated from each other.";
/** Policies without their own level default to this (the SDK's own default is advisory). */
export const PACK_ENFORCEMENT_LEVEL = "mandatory" as const;
/**
 * The policy pack config key whose enforcement level applies to every policy (a policy's own entry
 * overrides it): reserved by @pulumi/policy (server.js refuses a policy named so);
 * https://www.pulumi.com/docs/iac/using-pulumi/crossguard/configuration/.
 */
export const ALL_POLICIES = "all";

/** Every policy of the pack in rule order (1-11); rule 11 (`sites-use-tls`) is advisory, the others mandatory. */
export const policies: Policies = [
  envTokenInNames, // 1
  noSharedClaims, // 2
  nonProdSitesPrivate, // 3
  prodImagesImmutable, // 4
  prodDataProtected, // 5
  nonProdBudget, // 6
  previewStaysOnDev, // 7
  noPublicDataPorts, // 8
  prodHealthGated, // 9
  runnersEphemeral, // 10
  sitesUseTls, // 11 (advisory)
];

export {
  envTokenInNames,
  noSharedClaims,
  nonProdSitesPrivate,
  prodImagesImmutable,
  prodDataProtected,
  nonProdBudget,
  previewStaysOnDev,
  noPublicDataPorts,
  prodHealthGated,
  runnersEphemeral,
  sitesUseTls,
};
