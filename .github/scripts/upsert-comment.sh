#!/usr/bin/env bash
# Post the regression table on a pull request of this repository, editing our earlier comment there
# (found by a hidden marker) rather than adding one per run. Needs GH_TOKEN (pull-requests: write)
# and GH_REPO (owner/name).
#   upsert-comment.sh PR BODY_FILE RUN_URL
set -euo pipefail
pr=$1 file=$2 run_url=$3
marker='<!-- ropebench-regression -->'
if ! [[ "$pr" =~ ^[1-9][0-9]*$ ]]; then echo "::error::pr must be a pull request number, got '$pr'"; exit 2; fi
# A number of this repository's pull requests only (an issue number is refused).
gh pr view "$pr" --json number --jq .number > /dev/null
# GitHub caps a comment at 65536 characters; the full table stays in the artifact.
{ echo "$marker"; if [ -f "$file" ]; then head -c 60000 "$file"; else echo "No comparison: the GPU job failed before comparing."; fi
  printf '\n\n[Workflow run and full artifact](%s)\n' "$run_url"; } > "$RUNNER_TEMP/comment.md"
id=$(gh api "repos/$GH_REPO/issues/$pr/comments" --paginate \
  --jq "[.[] | select(.body | startswith(\"$marker\"))][0].id // empty" | head -n1)
if [ -n "$id" ]; then
  gh api -X PATCH "repos/$GH_REPO/issues/comments/$id" -F "body=@$RUNNER_TEMP/comment.md" > /dev/null
  echo "updated comment $id on #$pr"
else
  gh api -X POST "repos/$GH_REPO/issues/$pr/comments" -F "body=@$RUNNER_TEMP/comment.md" > /dev/null
  echo "commented on #$pr"
fi
