#!/bin/sh
# `docker swarm init` unless the node is in a swarm; prints the node id.
# Rendered by components/render/swarmScripts.ts and run over SSH by @pulumi/command's
# remote.Command: a header (`set -eu`, advertise_addr), then everything after the marker line below,
# verbatim (sent without its final newline). Checked by shellcheck as this file and as rendered
# (tests/consumers/shellcheck.test.ts).
# shellcheck disable=SC2154 # the settings are the lines the renderer prepends
# As rendered, for shellcheck (the renderer writes this line itself):
set -eu
# ---- rendered verbatim from here ----
if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
  docker swarm init --advertise-addr "$advertise_addr" >/dev/null
fi
docker info --format '{{.Swarm.NodeID}}'
