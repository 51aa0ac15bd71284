#!/bin/sh
# The body of a dedicated PostgreSQL container's /docker-entrypoint-initdb.d script that creates
# the environment's extensions in $POSTGRES_DB as $POSTGRES_USER (the official image's entrypoint
# exports both and runs init scripts once, against a socket-only server, when the data directory
# is empty: https://github.com/docker-library/docs/tree/master/postgres#initialization-scripts).
# components/render/pgInit.ts renders the script: a header (shebang, comments, `set -eu`,
# `extensions='<name> <name> ...'`: validated names of [A-Za-z0-9_-], space-separated), then
# everything after the marker line below, verbatim. Checked by shellcheck as this file and as
# rendered (tests/consumers/shellcheck.test.ts); run against a real server by
# tests/consumers/pgInit.test.ts.
# shellcheck disable=SC2154 # extensions is the setting the renderer prepends
# As rendered, for shellcheck (the renderer writes this line itself):
set -eu
# ---- rendered verbatim from here ----
# The names hold no blanks or glob characters: word splitting is what separates them.
for extension in $extensions; do
  psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -c "CREATE EXTENSION IF NOT EXISTS \"$extension\""
done
