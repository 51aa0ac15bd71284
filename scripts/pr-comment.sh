#!/usr/bin/env bash
# Posts a PR comment, or updates the one posted before under the same marker, on a Forgejo/Gitea
# forge (API: /repos/{owner}/{repo}/issues/{index}/comments, PATCH /issues/comments/{id}).
# usage: pr-comment.sh <marker> <body-file>; env: FORGE_TOKEN, PR_NUMBER, GITHUB_SERVER_URL, GITHUB_REPOSITORY
set -euo pipefail
marker="<!-- $1 -->"
body_file="$2"
api="$GITHUB_SERVER_URL/api/v1/repos/$GITHUB_REPOSITORY"
payload="$(node -e 'const fs = require("fs"); process.stdout.write(JSON.stringify({ body: process.argv[1] + "\n" + fs.readFileSync(process.argv[2], "utf8") }))' "$marker" "$body_file")"
existing="$(curl -fsS -H "Authorization: token $FORGE_TOKEN" "$api/issues/$PR_NUMBER/comments" |
  node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const c = JSON.parse(s).find((c) => String(c.body).includes(process.argv[1]));
    process.stdout.write(c ? String(c.id) : "");
  })' "$marker")"
if [ -n "$existing" ]; then
  curl -fsS -o /dev/null -X PATCH -H "Authorization: token $FORGE_TOKEN" -H "Content-Type: application/json" \
    --data "$payload" "$api/issues/comments/$existing"
else
  curl -fsS -o /dev/null -X POST -H "Authorization: token $FORGE_TOKEN" -H "Content-Type: application/json" \
    --data "$payload" "$api/issues/$PR_NUMBER/comments"
fi
