// Rule 4: prod runs immutable image references: a digest or a release tag, never latest, dev-*,
// preview-* or another moving tag.
import { ResourceValidationPolicy } from "@pulumi/policy";
import { T, workloadImage } from "./lib/resources";
import { stackInfo } from "./lib/stackContext";

const MOVING_TAGS = new Set([
  "latest",
  "dev",
  "preview",
  "main",
  "master",
  "develop",
  "edge",
  "nightly",
  "stable",
  "head",
  "canary",
  "staging",
  "test",
  "unstable",
  "beta",
  "alpha",
  "rc",
]);
/** A release tag starts with a version number: 1.2.3, v1.2.3, 16-alpine, 2.8-alpine, 1.61-puppeteer-21.4.1. */
const RELEASE_TAG = /^v?\d+(\.\d+)*([-+_.][0-9A-Za-z][0-9A-Za-z.+_-]*)?$/;

/** An image reference split as `repository[:tag][@digest]`; `tag` and `digest` are absent when not given. */
export interface ImageRef {
  repository: string;
  tag?: string;
  digest?: string;
}

/** Splits `repository[:tag][@digest]` (a registry port, `host:5000/x`, stays in the repository). Never throws. */
export function parseImageRef(ref: string): ImageRef {
  const at = ref.indexOf("@");
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const named = at >= 0 ? ref.slice(0, at) : ref;
  const slash = named.lastIndexOf("/");
  const colon = named.lastIndexOf(":");
  return colon > slash ? { repository: named.slice(0, colon), tag: named.slice(colon + 1), digest } : { repository: named, digest };
}

/** Why a reference is mutable, or undefined when it is immutable. */
export function mutableImageProblem(ref: string): string | undefined {
  // A container given a RemoteImage's id runs exactly that image.
  if (/^sha256:[0-9a-f]{64}$/.test(ref)) return undefined;
  const { tag, digest } = parseImageRef(ref);
  if (digest !== undefined) {
    return /^sha256:[0-9a-f]{64}$/.test(digest) ? undefined : `has a malformed digest "${digest}"`;
  }
  if (tag === undefined) return "has no tag, which means :latest";
  const lower = tag.toLowerCase();
  const parts = lower.split(/[-_.+]/);
  if (MOVING_TAGS.has(lower) || lower.startsWith("dev-") || lower.startsWith("preview-")) return `uses the moving tag ":${tag}"`;
  if (!RELEASE_TAG.test(tag)) return `uses the tag ":${tag}", which is not a release version`;
  const moving = parts.find((p) => ["latest", "dev", "preview", "snapshot", "nightly"].includes(p));
  if (moving) return `uses the tag ":${tag}", a ${moving} build`;
  return undefined;
}

/**
 * Rule 4 (resource policy, mandatory): prod images (RemoteImage names and the images of containers
 * and services) are a `sha256:` digest or a release tag, never `latest`, `dev-*`, `preview-*` or another
 * moving tag; the violation names the config key holding the reference.
 */
export const prodImagesImmutable: ResourceValidationPolicy = {
  name: "prod-images-immutable",
  description: "Prod images are immutable references (a digest or a release tag), never latest, dev-* or preview-*.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    let ref: string | undefined;
    if (args.type === T.remoteImage) ref = typeof args.props.name === "string" ? args.props.name : undefined;
    else if (args.type === T.container || args.type === T.service) ref = workloadImage(args.type, args.props);
    if (ref === undefined) return;
    const info = stackInfo(args.urn);
    if (info?.env !== "prod") return;
    const problem = mutableImageProblem(ref);
    if (!problem) return;
    const { repository } = parseImageRef(ref);
    const key = configKeyHolding(info.loaded.values, ref);
    // Name the stack file key that holds the reference when there is one: that is what to change.
    const where = key ? `set twinstack:${key} in ${info.loaded.display} to` : "pin";
    const promote =
      key === undefined
        ? "; for the app, `npm run promote -- <version>` pins dev's tested digest into Pulumi.prod.yaml"
        : key === "app.image"
          ? "; `npm run promote -- <version>` pins dev's tested digest there"
          : "";
    reportViolation(`prod image "${ref}" ${problem}: ${where} a digest (${repository}@sha256:<digest>) or a release tag (e.g. ${repository}:1.2.3)${promote}`);
  },
};

/** The dotted config key (e.g. `app.image`, `hosts[1].docker`) whose value is exactly `value`, if any. */
export function configKeyHolding(values: unknown, value: string, prefix = ""): string | undefined {
  if (values === value) return prefix || undefined;
  if (Array.isArray(values)) {
    for (let i = 0; i < values.length; i++) {
      const found = configKeyHolding(values[i], value, `${prefix}[${i}]`);
      if (found) return found;
    }
  } else if (values && typeof values === "object") {
    for (const [k, v] of Object.entries(values)) {
      const found = configKeyHolding(v, value, prefix ? `${prefix}.${k}` : k);
      if (found) return found;
    }
  }
  return undefined;
}
