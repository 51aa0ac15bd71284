#!/bin/sh
# The body of the release phase's pre-release backup: one verified dump by the env's running
# backup container (scripts/backup.sh, same retention), whose exit status is the script's.
# components/render/release.ts renders the script: a header (shebang, a comment, `set -eu`, then
# backup_container and backup_script), then everything after the marker line below, verbatim.
# ShellCheck checks this file and the rendered script (tests/consumers/shellcheck.test.ts);
# tests/consumers/release.test.ts runs it against a fake docker.
# shellcheck disable=SC2154 # the settings are the lines the renderer prepends
# As rendered, for shellcheck (the renderer writes this line itself):
set -eu
# ---- rendered verbatim from here ----
docker exec "$backup_container" "$backup_script"
