// Shell scripts that add and remove one preview's route on the dev Caddy. Pure: no Pulumi imports.
//
// A preview stack does not own the dev proxy; it drops `<previewsDir>/<slug>.caddy` into the dev
// Caddy container (found by its label twinstack.proxy=<proxyLabel>) and reloads Caddy. The dev
// site imports `<previewsDir>/*.caddy`, so the route inherits the site's basic auth and headers.
// The scripts run on the machine running `pulumi up` (command.local.Command, `/bin/sh -c`)
// with DOCKER_HOST pointing at the dev host.
//
// POSIX sh, `set -eu`. Every value is single-quoted into a variable; the snippet travels as a
// quoted heredoc (no expansion at all) on the docker exec's stdin. The in-container steps are
// fixed strings that take the directory and slug as positional parameters.
// Create keeps the previous snippet and puts it back (and reloads again) when Caddy rejects the
// new one, so a bad route never leaves the dev proxy unable to reload. Delete succeeds when no
// proxy container is running (the dev stack is down: nothing to reload), but fails when Docker
// itself cannot be reached.
import { RenderInvariantError } from "./invariant";
import { LABELS } from "../../model/labels";

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
export const CADDY_CONFIG_PATH = "/etc/caddy/Caddyfile";
/** The Docker label that finds the dev Caddy containers (model/labels.ts `LABELS.proxy`). */
export const PROXY_LABEL_KEY = LABELS.proxy;
const HEREDOC_DELIMITER = "TWINSTACK_PREVIEW_ROUTE_SNIPPET";

const SLUG_RE = /^[a-z][a-z0-9-]{0,62}$/;
const DIR_RE = /^\/[A-Za-z0-9._/-]*$/;
const LABEL_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function fail(message: string): never {
  throw new RenderInvariantError(`preview route scripts: ${message}`);
}

/** POSIX single-quoting: safe for any string. */
function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
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
  if (args.snippet.split("\n").some((line) => line.replace(/\r$/, "") === HEREDOC_DELIMITER)) {
    fail(`snippet contains the line ${HEREDOC_DELIMITER}`);
  }
}

function header(what: string, args: PreviewRouteScriptArgs): string[] {
  return [
    "#!/bin/sh",
    `# ${what} Rendered by twinstack (components/render/previewRoute.ts).`,
    "set -eu",
    "",
    `slug=${shQuote(args.slug)}`,
    `previews_dir=${shQuote(args.previewsDir)}`,
    `proxy_label=${shQuote(args.proxyLabel)}`,
    `caddy_config=${shQuote(CADDY_CONFIG_PATH)}`,
    "",
    "log() {",
    "  printf 'twinstack preview route %s: %s\\n' \"$slug\" \"$*\" >&2",
    "}",
    "die() {",
    '  log "error: $*"',
    "  exit 1",
    "}",
    "reload() {",
    '  docker exec "$1" caddy reload --config "$caddy_config" --adapter caddyfile',
    "}",
    "",
    "# Fails (set -e) when Docker cannot be reached; empty when no proxy container runs.",
    `containers=$(docker ps -q --filter "label=${PROXY_LABEL_KEY}=$proxy_label")`,
  ];
}

/**
 * The create/delete scripts of one preview's route. Pure; in tests checked by shellcheck and run by
 * a real /bin/sh against a stand-in `docker` CLI whose `caddy reload` is a real `caddy validate`.
 * @throws RenderInvariantError (`preview route scripts: ...`) on a bad slug, label, directory or snippet.
 */
export function renderPreviewRouteScripts(args: PreviewRouteScriptArgs): PreviewRouteScripts {
  validate(args);
  const snippet = args.snippet.endsWith("\n") ? args.snippet : `${args.snippet}\n`;

  const create = [
    ...header(`Installs the route /preview/${args.slug}/ on the dev Caddy and reloads it.`, args),
    `[ -n "$containers" ] || die "no running container labelled ${PROXY_LABEL_KEY}=$proxy_label on the dev host (is the dev stack up?)"`,
    "",
    "# Run by sh inside the Caddy container with $1 = previews dir, $2 = slug: keep the previous",
    "# snippet for a rollback, then swap the new one (stdin) in atomically. *.tmp/*.prev are not",
    "# matched by the site's `import <dir>/*.caddy`.",
    "# shellcheck disable=SC2016 # expanded by the container's shell, not here",
    `install_snippet='set -eu`,
    `mkdir -p "$1"`,
    `if [ -f "$1/$2.caddy" ]; then cp "$1/$2.caddy" "$1/$2.caddy.prev"; else rm -f "$1/$2.caddy.prev"; fi`,
    `cat >"$1/$2.caddy.tmp"`,
    `mv "$1/$2.caddy.tmp" "$1/$2.caddy"'`,
    "# shellcheck disable=SC2016 # expanded by the container's shell, not here",
    `restore_snippet='set -eu`,
    `if [ -f "$1/$2.caddy.prev" ]; then mv "$1/$2.caddy.prev" "$1/$2.caddy"; else rm -f "$1/$2.caddy"; fi'`,
    "",
    "# Container ids are hex: word splitting is what separates them.",
    "for container in $containers; do",
    `  docker exec -i "$container" sh -c "$install_snippet" sh "$previews_dir" "$slug" <<'${HEREDOC_DELIMITER}'`,
    snippet + HEREDOC_DELIMITER,
    '  if ! reload "$container"; then',
    '    docker exec "$container" sh -c "$restore_snippet" sh "$previews_dir" "$slug" || log "could not restore the previous route in $container"',
    '    reload "$container" || log "caddy in $container did not reload the restored config either"',
    '    die "caddy in $container rejected the route; the previous route was put back"',
    "  fi",
    '  docker exec "$container" rm -f "$previews_dir/$slug.caddy.prev"',
    '  log "installed in $container"',
    "done",
    "",
  ].join("\n");

  const remove = [
    ...header(`Removes the route /preview/${args.slug}/ from the dev Caddy and reloads it.`, args),
    'if [ -z "$containers" ]; then',
    `  log "no running container labelled ${PROXY_LABEL_KEY}=$proxy_label: no proxy to remove the route from"`,
    "  exit 0",
    "fi",
    "",
    "# Container ids are hex: word splitting is what separates them.",
    "for container in $containers; do",
    '  docker exec "$container" rm -f "$previews_dir/$slug.caddy" "$previews_dir/$slug.caddy.prev" "$previews_dir/$slug.caddy.tmp"',
    '  reload "$container"',
    '  log "removed from $container"',
    "done",
    "",
  ].join("\n");

  return { create, delete: remove };
}
