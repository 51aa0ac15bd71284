#!/bin/sh
# The body of the script that removes one preview's route /preview/<slug>/ from the dev Caddy and
# reloads it. components/render/previewRoute.ts renders the script: a header (shebang, a comment,
# `set -eu`, a blank line, then slug, previews_dir, proxy_label, caddy_config, label_key), then
# the body of preview-route-prologue.sh (log, die, reload, $containers), then everything after the
# marker line below, verbatim. It runs on the machine running `pulumi up`
# (command.local.Command, `/bin/sh -c`) with DOCKER_HOST pointing at the dev host. Checked by
# ShellCheck as this file and as rendered (tests/consumers/shellcheck.test.ts); run against a fake
# docker by tests/consumers/previewRouteScripts.test.ts.
# shellcheck disable=SC2154 # the settings are the lines the renderer prepends
# As rendered, for shellcheck (the renderer writes this line itself):
set -eu
# The renderer puts the shared prologue's body here (log, die, reload, $containers):
# shellcheck source=preview-route-prologue.sh
. ./preview-route-prologue.sh
# ---- rendered verbatim from here ----
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
