#!/bin/sh
# The body of the script that removes one preview's route /preview/<slug>/ from the dev Caddy and
# reloads it. components/render/previewRoute.ts renders the script: a header (shebang, a comment,
# `set -eu`, a blank line, then slug, previews_dir, proxy_label, caddy_config, label_key), then
# everything after the marker line below, verbatim. It runs on the machine running `pulumi up`
# (command.local.Command, `/bin/sh -c`) with DOCKER_HOST pointing at the dev host. Checked by
# ShellCheck as this file and as rendered (tests/consumers/shellcheck.test.ts); run against a fake
# docker by tests/consumers/previewRouteScripts.test.ts.
# shellcheck disable=SC2154 # the settings are the lines the renderer prepends
# As rendered, for shellcheck (the renderer writes this line itself):
set -eu
# ---- rendered verbatim from here ----

log() {
  printf 'twinstack preview route %s: %s\n' "$slug" "$*" >&2
}
die() {
  log "error: $*"
  exit 1
}
reload() {
  docker exec "$1" caddy reload --config "$caddy_config" --adapter caddyfile
}

# Fails (set -e) when Docker cannot be reached; empty when no proxy container runs.
containers=$(docker ps -q --filter "label=$label_key=$proxy_label")
if [ -z "$containers" ]; then
  log "no running container labelled $label_key=$proxy_label: no proxy to remove the route from"
  exit 0
fi

# Container ids are hex: word splitting is what separates them.
for container in $containers; do
  docker exec "$container" rm -f "$previews_dir/$slug.caddy" "$previews_dir/$slug.caddy.prev" "$previews_dir/$slug.caddy.tmp"
  reload "$container"
  log "removed from $container"
done
