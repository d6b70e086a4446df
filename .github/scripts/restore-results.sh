#!/usr/bin/env bash
# Copy the results/ folder of the results branch into an asv results folder (emptied first; left
# empty when the branch does not exist yet). Read-only.
#   restore-results.sh [DEST (.asv/results)] [BRANCH (results)]
# Remote: $RESULTS_REMOTE, else this repository on GitHub. With $GH_TOKEN set, the fetch
# authenticates through an http.extraheader kept in this process's environment: no credential is
# written to a git config file or shown on a command line.
set -euo pipefail
dest=${1:-.asv/results}
branch=${2:-results}
# shellcheck source=results-remote.sh
source "$(dirname "$0")/results-remote.sh"
rm -rf "$dest"
mkdir -p "$dest"
status=0
git ls-remote --exit-code --heads "$url" "$branch" >/dev/null || status=$?
if [ "$status" = 2 ]; then
  echo "no $branch branch yet: starting from no results"
  exit 0
elif [ "$status" != 0 ]; then
  echo "::error::cannot reach the results remote (git ls-remote exited $status)"
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git init -q "$tmp"
git -C "$tmp" fetch -q --depth=1 "$url" "refs/heads/$branch"
git -C "$tmp" checkout -q FETCH_HEAD
if [ -d "$tmp/results" ]; then cp -a "$tmp/results/." "$dest/"; fi
echo "restored $(find "$dest" -name '*.json' | wc -l) files from $branch @ $(git -C "$tmp" rev-parse --short HEAD)"
