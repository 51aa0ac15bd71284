// Composition of a preview stack (`preview-<branch>`): one PreviewEnv on the dev environment,
// which it reads through a StackReference to the dev stack's `previewHandoff` output.
import * as pulumi from "@pulumi/pulumi";
import { PreviewEnv } from "../components/previewEnv";
import { ConfigError, LoadedConfig, NAMESPACE } from "./config";
import { PreviewHandoff } from "../model/handoff";
import { branchFromStackName, PREVIEW_STACK_PREFIX, previewSlug } from "../model/slug";

/** The dev stack output a preview reads; stacks/instance.ts exports it on dev stacks. */
export const PREVIEW_HANDOFF_OUTPUT = "previewHandoff";

export function composePreview(loaded: LoadedConfig): Record<string, pulumi.Input<unknown>> {
  const c = loaded.config;
  const branch = c.preview.branch ?? branchFromStackName(loaded.stack);
  if (branch === undefined) {
    throw new ConfigError([
      `${loaded.sourceFile}: ${NAMESPACE}:preview.branch: required key is missing ` +
        `(stack "${loaded.stack}" is not named preview-<branch>, so the branch cannot follow from its name)`,
    ]);
  }
  // One slug per branch (previewSlug): when the stack name is where the branch comes from, the
  // resources, image tag and route carry that very slug, so a name previewSlug would change (a
  // clean slug over 32 characters) is refused rather than silently re-slugged.
  if (c.preview.branch === undefined && previewSlug(branch) !== branch) {
    throw new ConfigError([
      `${loaded.sourceFile}: stack "${loaded.stack}" does not carry the preview slug ` +
        `"${previewSlug(branch)}" of branch "${branch}": name the stack ${PREVIEW_STACK_PREFIX}${previewSlug(branch)} ` +
        "(tools/preview-stack-name.ts prints it)",
    ]);
  }
  const dev = new pulumi.StackReference(c.preview.devStack);
  // requireOutput: a dev stack without previews (no proxy or domain) fails here, naming the output.
  const handoff = dev.requireOutput(PREVIEW_HANDOFF_OUTPUT) as pulumi.Output<PreviewHandoff>;
  const preview = new PreviewEnv("preview", {
    branch,
    handoff,
    cloneDevDatabase: c.preview.cloneDevDatabase,
    limits: c.preview.limits,
  });
  return {
    previewUrl: preview.url,
    slug: preview.slug,
    databaseName: preview.databaseName,
    image: preview.image,
  };
}
