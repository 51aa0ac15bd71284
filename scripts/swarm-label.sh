#!/bin/sh
# Labels a swarm node twinstack.host=<host name> (run on a manager).
# Rendered by components/render/swarmScripts.ts and run over SSH by @pulumi/command's
# remote.Command: a header (`set -eu`, label (key=value), node_id), then everything after the marker line below,
# verbatim (sent without its final newline). Checked by shellcheck as this file and as rendered
# (tests/consumers/shellcheck.test.ts).
# shellcheck disable=SC2154 # the settings are the lines the renderer prepends
# As rendered, for shellcheck (the renderer writes this line itself):
set -eu
# ---- rendered verbatim from here ----
docker node update --label-add "$label" "$node_id" >/dev/null
