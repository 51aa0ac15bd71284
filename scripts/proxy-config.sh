#!/bin/sh
# The body of the script that installs a standalone proxy's files into its running Caddy
# container and reloads Caddy gracefully, putting the previous files back when the reload fails.
# components/render/proxyConfig.ts renders the script: a header (shebang, comments, `set -eu`, a
# blank line, then container, caddyfile and attempts), then everything after the marker line
# below, verbatim. stdin: `<mode> <path> <base64>` per file (renderProxyConfigStdin). It runs on
# the machine running `pulumi up` (command.local.Command, `/bin/sh -c`) with DOCKER_HOST pointing
# at the container's host. ShellCheck checks this file and the rendered script
# (tests/consumers/shellcheck.test.ts).
# shellcheck disable=SC2154 # the settings are the lines the renderer prepends
# As rendered, for shellcheck (the renderer writes this line itself):
set -eu
# ---- rendered verbatim from here ----

log() {
  printf 'twinstack proxy config %s: %s\n' "$container" "$*" >&2
}

# Run by sh inside the container with $1 = path, $2 = mode, the content on stdin: the previous
# file is kept as <path>.prev (none: no .prev), the new one goes in by rename.
# shellcheck disable=SC2016 # expanded by the container's shell, not here
install_file='set -eu
mkdir -p "$(dirname "$1")"
if [ -f "$1" ]; then cp -p "$1" "$1.prev"; else rm -f "$1.prev"; fi
cat >"$1.tmp"
chmod "$2" "$1.tmp"
mv "$1.tmp" "$1"'
# shellcheck disable=SC2016 # expanded by the container's shell, not here
restore_file='if [ -f "$1.prev" ]; then mv "$1.prev" "$1"; else rm -f "$1"; fi'

installed=''
restore() {
  for p in $installed; do
    docker exec "$container" sh -c "$restore_file" sh "$p" || log "could not put $p back"
  done
}
# Paths are checked by the renderer (no blanks): word splitting separates them.
while read -r mode path data; do
  [ -n "$path" ] || continue
  if ! printf '%s' "$data" | base64 -d | docker exec -i "$container" sh -c "$install_file" sh "$path" "$mode"; then
    restore
    log "error: could not install $path (is the container running?)"
    exit 1
  fi
  installed="$installed $path"
done

reload() {
  docker exec "$container" caddy reload --config "$caddyfile" --adapter caddyfile
}
n=1
until reload; do
  if [ "$n" -ge "$attempts" ]; then
    restore
    reload || log "the previous files did not reload either"
    log "error: caddy did not load the new configuration; the previous files were put back and it keeps serving the previous one"
    exit 1
  fi
  n=$((n + 1))
  sleep 2
done
for p in $installed; do
  docker exec "$container" rm -f "$p.prev"
done
log "reloaded"
