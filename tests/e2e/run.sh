#!/usr/bin/env bash
# npm run e2e: starts a private Docker engine (tests/e2e/engine.sh), builds the stand-in images on
# it (tests/e2e/images/build.sh), runs every tests/e2e/**/*.e2e.test.ts (jest.e2e.config.js), stops
# exactly that engine, and prints as its last line `E2E_SUMMARY {json}` with the scenarios' figures
# (tests/e2e/stack.e2e.test.ts). If the engine cannot start or the images cannot be built, the run
# fails: nothing is skipped. Extra arguments go to jest (e.g. -t "dev up").
set -euo pipefail
cd "$(dirname "$0")/../.."

run_dir="$(mktemp -d "${TMPDIR:-/tmp}/twinstack-e2e.XXXXXX")"
summary="$run_dir/summary.json"
engine_dir="$run_dir/engine"
stopped=0
stop_engine() {
  if [ "$stopped" = 0 ]; then
    stopped=1
    tests/e2e/engine.sh stop "$engine_dir" || echo "e2e: stopping the engine failed" >&2
  fi
}
trap 'stop_engine; rm -rf "$run_dir"' EXIT

status=0
if env_lines="$(tests/e2e/engine.sh start "$engine_dir")"; then
  eval "$env_lines"
  if tests/e2e/images/build.sh; then
    TWINSTACK_E2E_SUMMARY="$summary" npx jest -c jest.e2e.config.js --ci "$@" || status=$?
  else
    echo "e2e: building the stand-in images failed" >&2
    status=1
  fi
else
  echo "e2e: the private Docker engine did not start (tests/e2e/engine.sh needs root and Debian's docker.io)" >&2
  status=1
fi
stop_engine

if [ -s "$summary" ]; then
  printf 'E2E_SUMMARY %s\n' "$(cat "$summary")"
else
  printf 'E2E_SUMMARY %s\n' '{"error":"the scenarios did not run"}'
fi
exit "$status"
