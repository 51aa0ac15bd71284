// Shell scripts that add and remove one preview's route on the dev Caddy. Pure: no Pulumi imports.
//
// A preview stack does not own the dev proxy; it drops `<previewsDir>/<slug>.caddy` into the dev
// Caddy container (found by its label twinstack.proxy=<proxyLabel>) and reloads Caddy. The dev
// site imports `<previewsDir>/*.caddy`, so the route inherits the site's basic auth and headers.
// The scripts run on the machine running `pulumi up` (command.local.Command, `/bin/sh -c`)
// with DOCKER_HOST pointing at the dev host.
//
// POSIX sh, `set -eu`. Every value is single-quoted into a variable; the snippet travels from its
// variable (printf '%s', no expansion of its text) on the docker exec's stdin. The in-container
// steps are fixed strings that take the directory and slug as positional parameters.
// Create keeps the previous snippet and puts it back (and reloads again) when Caddy rejects the
// new one, so a bad route never leaves the dev proxy unable to reload. Delete succeeds when no
// proxy container is running (the dev stack is down: nothing to reload), but fails when Docker
// itself cannot be reached.
import { RenderInvariantError } from "./invariant";
import { LABELS } from "../../model/labels";
import { CADDY } from "../../model/images";
import { renderShScript } from "./scriptFile";

/** Input of {@link renderPreviewRouteScripts}. */
export interface PreviewRouteScriptArgs {
  /** The preview slug; the route file is `<previewsDir>/<slug>.caddy`. */
  slug: string;
  /** The Caddy snippet (renderPreviewRoute). */
  snippet: string;
  /** Value of the `twinstack.proxy` label on the dev Caddy container. */
  proxyLabel: string;
  /** Absolute directory inside the Caddy container whose *.caddy files the dev site imports. */
  previewsDir: string;
}

/**
 * POSIX sh scripts run on the deploying machine with DOCKER_HOST set to the dev host: `create`
 * installs the preview's route snippet in every dev Caddy container and reloads it (restoring the
 * previous snippet if the reload fails); `delete` removes it and reloads.
 */
export interface PreviewRouteScripts {
  create: string;
  delete: string;
}

/** Caddy's config inside the official image; what `caddy reload` re-reads. */
export const CADDY_CONFIG_PATH = CADDY.paths.caddyfile;
/** The Docker label that finds the dev Caddy containers (model/labels.ts `LABELS.proxy`). */
export const PROXY_LABEL_KEY = LABELS.proxy;

const SLUG_RE = /^[a-z][a-z0-9-]{0,62}$/;
const DIR_RE = /^\/[A-Za-z0-9._/-]*$/;
const LABEL_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function fail(message: string): never {
  throw new RenderInvariantError(`preview route scripts: ${message}`);
}

function validate(args: PreviewRouteScriptArgs): void {
  if (typeof args.slug !== "string" || !SLUG_RE.test(args.slug) || args.slug.endsWith("-")) {
    fail(`slug ${JSON.stringify(args.slug)} must be a DNS label (a-z, 0-9, '-', starting with a letter)`);
  }
  if (typeof args.previewsDir !== "string" || !DIR_RE.test(args.previewsDir) || args.previewsDir.split("/").includes("..")) {
    fail(`previewsDir ${JSON.stringify(args.previewsDir)} must be an absolute path of letters, digits, '.', '_', '-', '/'`);
  }
  if (typeof args.proxyLabel !== "string" || !LABEL_RE.test(args.proxyLabel)) {
    fail(`proxyLabel ${JSON.stringify(args.proxyLabel)} must be letters, digits, '.', '_', '-'`);
  }
  if (typeof args.snippet !== "string" || args.snippet.trim() === "") fail("snippet is empty");
  if (args.snippet.includes("\0")) fail("snippet contains a NUL byte");
}

// The bodies are scripts/preview-route-add.sh and preview-route-remove.sh, each after the shared
// scripts/preview-route-prologue.sh (docs/ARCHITECTURE.md, "Shell scripts"); this writes their header.
function render(file: string, what: string, args: PreviewRouteScriptArgs, extra: [string, string][]): string {
  return renderShScript(
    ["preview-route-prologue.sh", file],
    [`${what} Rendered by twinstack (components/render/previewRoute.ts).`],
    [["slug", args.slug], ["previews_dir", args.previewsDir], ["proxy_label", args.proxyLabel], ["caddy_config", CADDY_CONFIG_PATH], ["label_key", PROXY_LABEL_KEY], ...extra],
    true,
  );
}

/**
 * The create/delete scripts of one preview's route. Pure; in tests checked by shellcheck and run by
 * a real /bin/sh against a stand-in `docker` CLI whose `caddy reload` is a real `caddy validate`.
 * @throws RenderInvariantError (`preview route scripts: ...`) on a bad slug, label, directory or snippet.
 */
export function renderPreviewRouteScripts(args: PreviewRouteScriptArgs): PreviewRouteScripts {
  validate(args);
  const snippet = args.snippet.endsWith("\n") ? args.snippet : `${args.snippet}\n`;
  return {
    create: render("preview-route-add.sh", `Installs the route /preview/${args.slug}/ on the dev Caddy and reloads it.`, args, [["snippet", snippet]]),
    delete: render("preview-route-remove.sh", `Removes the route /preview/${args.slug}/ from the dev Caddy and reloads it.`, args, []),
  };
}
