#!/usr/bin/env bash
# Push one chunk's result folder to the results branch (hosted job). The token travels in an
# http.extraheader in this process's environment: never on disk or on a command line.
#   push-chunk.sh DIR MESSAGE        (remote: $RESULTS_REMOTE, else this repository on GitHub)
set -euo pipefail
dir=$1 message=$2
if [ ! -d "$dir" ] || [ -z "$(find "$dir" -name '*.json' ! -name 'health-*' -print -quit)" ]; then
  echo "no results in this chunk: nothing to push"
  exit 0
fi
# shellcheck source=results-remote.sh
source "$(dirname "$0")/results-remote.sh"
export GIT_AUTHOR_NAME="github-actions[bot]" GIT_AUTHOR_EMAIL="41898282+github-actions[bot]@users.noreply.github.com"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
ropebench push-results "$dir" --remote "$url" --branch "${RESULTS_BRANCH:-results}" --retries 8 \
  --message "results: $message"
