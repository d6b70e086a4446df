#!/usr/bin/env bash
# Open or update the ONE open issue that carries a label (ropebench alert's files: title.txt,
# body.md, label.txt). Needs GH_TOKEN with issues: write and GH_REPO (owner/name).
#   upsert-issue.sh DIR
set -euo pipefail
dir=$1
label=$(cat "$dir/label.txt")
title=$(cat "$dir/title.txt")
if [ -z "$title" ]; then echo "nothing to report"; exit 0; fi
gh label create "$label" --color B60205 --description "opened by the history workflow" 2>/dev/null || true
number=$(gh issue list --label "$label" --state open --limit 1 --json number --jq '.[0].number // empty')
if [ -n "$number" ]; then
  gh issue edit "$number" --title "$title" --body-file "$dir/body.md"
  echo "updated issue #$number ($label)"
else
  gh issue create --label "$label" --title "$title" --body-file "$dir/body.md"
fi
