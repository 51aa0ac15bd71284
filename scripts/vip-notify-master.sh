#!/bin/sh
# The body of keepalived's notify_master script for a cloud VIP: assigns the floating/reserved
# IP to this node through the cloud API, retrying, and never shows the token (it is read from a
# file and handed to curl on stdin with `-K -`: https://curl.se/docs/manpage.html#-K).
# components/render/cloudVip.ts renders the script: a header (shebang, comments, `set -u`, then
# token_file, url, body (JSON), what, attempts), then everything after the marker line below,
# verbatim. Checked by shellcheck as this file and as rendered (tests/consumers/shellcheck.test.ts);
# run against a fake API by tests/cloudVip.test.ts and tests/consumers/cloudVipPair.test.ts.
# The token check refuses a token with a quote, backslash or newline (it would break curl's config
# syntax) without showing it: cloud API tokens are letters, digits, '_' and '-'.
# shellcheck disable=SC2154 # the settings are the lines the renderer prepends
# As rendered, for shellcheck (the renderer writes this line itself):
set -u
# ---- rendered verbatim from here ----
log() { printf 'twinstack-vip: %s\n' "$*" >&2; }
if [ ! -r "$token_file" ]; then log "API token file $token_file is missing or unreadable"; exit 1; fi
if ! grep -Eq '^[A-Za-z0-9_.-]+$' "$token_file"; then log "API token in $token_file has characters other than letters, digits, '_', '.', '-'"; exit 1; fi
attempt=1
while :; do
  status=$( { printf 'header = "Authorization: Bearer '; tr -d '\n\r' < "$token_file"; printf '"\n'; } |
    curl -K - -sS -o /dev/null -w '%{http_code}' --connect-timeout 5 --max-time 20 -X POST \
      -H 'Content-Type: application/json' --data "$body" "$url" ) || true
  case "$status" in
    2[0-9][0-9]) log "assigned $what (HTTP $status)"; exit 0 ;;
  esac
  log "assigning $what failed (HTTP ${status:-none}), attempt $attempt of $attempts"
  if [ "$attempt" -ge "$attempts" ]; then exit 1; fi
  attempt=$((attempt + 1))
  sleep 2
done
