#!/bin/sh
# The prologue the preview-route scripts share (preview-route-add.sh, preview-route-remove.sh): log,
# die, reload and the lookup of the dev proxy containers into $containers. Not shipped alone:
# components/render/previewRoute.ts renders each script as its header, this body, then the
# script's own body, so each rendered script is still one self-contained file. Checked by
# ShellCheck as this file, through the scripts that source it, and as rendered
# (tests/consumers/shellcheck.test.ts).
# shellcheck disable=SC2154,SC2034 # the settings are the lines the renderer prepends; $containers is read by the script's own body
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
