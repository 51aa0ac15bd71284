#!/bin/sh
# Waits for cloud-init to finish and the Docker engine to answer the admin user.
# Rendered by components/render/swarmScripts.ts and run over SSH by @pulumi/command's
# remote.Command: no header (no settings), then everything after the marker line below,
# verbatim (sent without its final newline). Checked by shellcheck as this file and as rendered
# (tests/consumers/shellcheck.test.ts).
# ---- rendered verbatim from here ----
set -u
cloud-init status --wait >/dev/null 2>&1 || true
timeout 600 sh -c 'until docker info >/dev/null 2>&1; do sleep 5; done'
