#!/bin/sh
# The body of the release phase's script: one container of the app image with the app's
# environment runs the release command to completion; the script exits non-zero when the command
# does, which fails the Command resource and so the `pulumi up` before the new app version is
# declared. components/render/release.ts renders the script: a header (shebang, a comment,
# `set -eu`, then name, network, image, env_names and extra_networks (names without blanks,
# space-separated), labels, limits and command (lists of single-quoted words, each quoted by the
# renderer)), then everything after the marker line below, verbatim. It runs on the machine
# running `pulumi up` (command.local.Command, `/bin/sh -c`) with DOCKER_HOST pointing at the env's
# main Docker host. `-e NAME` without a value copies NAME from the CLI's own environment, so
# secrets never appear in the command line
# (https://docs.docker.com/reference/cli/docker/container/run/#env); `docker wait` prints the exit
# code (https://docs.docker.com/reference/cli/docker/container/wait/). ShellCheck checks this file
# and the rendered script (tests/consumers/shellcheck.test.ts); tests/consumers/release.test.ts
# runs it against a fake docker.
# shellcheck disable=SC2154 # the settings are the lines the renderer prepends
# As rendered, for shellcheck (the renderer writes this line itself):
set -eu
# ---- rendered verbatim from here ----
cleanup() { docker rm -f "$name" >/dev/null 2>&1 || true; }
cleanup
trap cleanup EXIT
# The arguments of `docker create`, in order. labels, limits and command are lists of words the
# renderer single-quoted each: eval appends them as they are. Env names hold no blanks.
set -- --name "$name" --network "$network"
eval "set -- \"\$@\" $labels $limits"
for env_name in $env_names; do set -- "$@" -e "$env_name"; done
set -- "$@" "$image"
eval "set -- \"\$@\" $command"
docker create "$@" >/dev/null
for extra_network in $extra_networks; do docker network connect "$extra_network" "$name"; done
docker start "$name" >/dev/null
code=$(docker wait "$name")
docker logs "$name" 2>&1 || true
if [ "$code" != 0 ]; then
  echo "release: command exited with code $code; the new version was not deployed" >&2
  exit 1
fi
echo "release: command succeeded"
