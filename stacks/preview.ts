// Composition of a preview stack (`preview-<branch>`): one PreviewEnv on the dev environment,
// which it reads through a StackReference to the dev stack's `previewHandoff` output.
import * as pulumi from "@pulumi/pulumi";
import { PreviewEnv } from "../components/previewEnv";
import { LoadedConfig, NAMESPACE, previewStackBranch } from "./config";
import { parsePreviewHandoff, PREVIEW_HANDOFF_OUTPUT, PreviewHandoff, PreviewHandoffError } from "../model/handoff";

export { PREVIEW_HANDOFF_OUTPUT };

/**
 * The dev stack's `previewHandoff` output, read through a StackReference to `devStack` and parsed
 * with the handoff's schema (model/handoff.ts) before the preview uses any of it. A stack without
 * the output (a dev stack without a proxy or a domain, a prod stack, or one not deployed yet) fails
 * naming the preview's stack file (`opts.sourceFile`) and `twinstack:preview.devStack`.
 * @throws pulumi.RunError (inside the Output) naming the dev stack, the output and each field that does not fit
 */
export function readPreviewHandoff(devStack: string, opts: { cloneDevDatabase?: boolean; sourceFile?: string } = {}): pulumi.Output<PreviewHandoff> {
  const dev = new pulumi.StackReference(devStack);
  return dev.getOutput(PREVIEW_HANDOFF_OUTPUT).apply((value) => {
    if (value === undefined || value === null) {
      throw new pulumi.RunError(
        `${opts.sourceFile ? `${opts.sourceFile}: ` : ""}${NAMESPACE}:preview.devStack: stack "${devStack}" has no ${PREVIEW_HANDOFF_OUTPUT} output: ` +
          "only a dev stack with a proxy and a domain (twinstack:domains) exports it, once deployed (a prod or preview stack never does): " +
          "point preview.devStack at such a dev stack",
      );
    }
    try {
      return parsePreviewHandoff(value, devStack, opts);
    } catch (err) {
      // RunError: the engine prints the message alone, without the program's stack trace.
      throw err instanceof PreviewHandoffError ? new pulumi.RunError(err.message) : err;
    }
  });
}

export function composePreview(loaded: LoadedConfig): Record<string, pulumi.Input<unknown>> {
  const c = loaded.config;
  // No branch, or a stack name whose slug previewSlug would change: refused (model/config.ts).
  const branch = previewStackBranch(c.preview.branch, loaded.stack, loaded.sourceFile);
  const handoff = readPreviewHandoff(c.preview.devStack, { cloneDevDatabase: c.preview.cloneDevDatabase, sourceFile: loaded.sourceFile });
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
