#!/bin/sh
# The body of the script that installs one preview's route /preview/<slug>/ (the Caddy snippet in
# $snippet) on the dev Caddy and reloads it. components/render/previewRoute.ts renders the script:
# a header (shebang, a comment, `set -eu`, a blank line, then slug, previews_dir, proxy_label,
# caddy_config, label_key, snippet), then the body of preview-route-prologue.sh (log, die, reload,
# $containers), then everything after the marker line below, verbatim. It
# runs on the machine running `pulumi up` (command.local.Command, `/bin/sh -c`) with DOCKER_HOST
# pointing at the dev host. Checked by shellcheck as this file and as rendered
# (tests/consumers/shellcheck.test.ts); run against a fake docker by
# tests/consumers/previewRouteScripts.test.ts.
# shellcheck disable=SC2154 # the settings are the lines the renderer prepends
# As rendered, for shellcheck (the renderer writes this line itself):
set -eu
# The renderer puts the shared prologue's body here (log, die, reload, $containers):
# shellcheck source=preview-route-prologue.sh
. ./preview-route-prologue.sh
# ---- rendered verbatim from here ----
[ -n "$containers" ] || die "no running container labelled $label_key=$proxy_label on the dev host (is the dev stack up?)"

# Run by sh inside the Caddy container with $1 = previews dir, $2 = slug: keep the previous
# snippet for a rollback, then swap the new one (stdin) in atomically. *.tmp/*.prev are not
# matched by the site's `import <dir>/*.caddy`.
# shellcheck disable=SC2016 # expanded by the container's shell, not here
install_snippet='set -eu
mkdir -p "$1"
if [ -f "$1/$2.caddy" ]; then cp "$1/$2.caddy" "$1/$2.caddy.prev"; else rm -f "$1/$2.caddy.prev"; fi
cat >"$1/$2.caddy.tmp"
mv "$1/$2.caddy.tmp" "$1/$2.caddy"'
# shellcheck disable=SC2016 # expanded by the container's shell, not here
restore_snippet='set -eu
if [ -f "$1/$2.caddy.prev" ]; then mv "$1/$2.caddy.prev" "$1/$2.caddy"; else rm -f "$1/$2.caddy"; fi'

# Container ids are hex: word splitting is what separates them.
for container in $containers; do
  printf '%s' "$snippet" | docker exec -i "$container" sh -c "$install_snippet" sh "$previews_dir" "$slug"
  if ! reload "$container"; then
    docker exec "$container" sh -c "$restore_snippet" sh "$previews_dir" "$slug" || log "could not restore the previous route in $container"
    reload "$container" || log "caddy in $container did not reload the restored config either"
    die "caddy in $container rejected the route; the previous route was put back"
  fi
  docker exec "$container" rm -f "$previews_dir/$slug.caddy.prev"
  log "installed in $container"
done
