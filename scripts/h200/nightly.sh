#!/usr/bin/env bash
# The nightly's scripted steps on one machine, as history.yml's jobs run them:
#   plan -> per chunk: restore results -> next chunk -> health check, asv run, collect -> push
# From the repo root, with ropebench, asv and a CUDA torch installed:
#   REPO=/path/to/vllm-history RANGE=A..B BENCH='^rope\.RoPE\.time_rope' scripts/h200/nightly.sh
# Env: REPO (vLLM clone asv runs from), RANGE (for ropebench plan) or HASHFILE (a plan already made),
#      RESULTS_REMOTE (bare results repo; created if missing; default .asv/nightly/results.git),
#      MACHINE (h200), CHUNK_SIZE (60), CHUNKS (1, or "all": until nothing is left), BENCH (asv -b),
#      GPUS (1), ASV_EXTRA (default --launch-method forkserver), HEALTH (off only without NVML).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
work=${WORK:-$PWD/.asv/nightly}
export RESULTS_REMOTE=${RESULTS_REMOTE:-$work/results.git}
export RUNNER_MACHINE=${MACHINE:-h200}
export ASV_EXTRA=${ASV_EXTRA---launch-method forkserver}
size=${CHUNK_SIZE:-60}
chunks=${CHUNKS:-1}
mkdir -p "$work"
rm -f "$work/last-chunk.txt"
plan_conf=()
if [ ! -d "$RESULTS_REMOTE" ]; then git init -q --bare "$RESULTS_REMOTE"; fi
if [ -n "${REPO:-}" ] && [ -f asv.conf.json ]; then
  # asv runs from REPO: a copy of asv.conf.json pointing there, other paths kept where they were.
  python - "$REPO" "$work/asv.conf.json" <<'PY'
import json, sys
from pathlib import Path
from asv.util import load_json
d = load_json("asv.conf.json", js_comments=True)
d["repo"] = str(Path(sys.argv[1]).resolve())
for key in ("benchmark_dir", "env_dir", "results_dir", "html_dir"):
    d[key] = str(Path(d[key]).resolve())
Path(sys.argv[2]).write_text(json.dumps(d, indent=1))
PY
  ASV_EXTRA="$ASV_EXTRA --config $work/asv.conf.json"
  # plan checks its commits against the clone this config makes asv read.
  plan_conf=(--conf "$work/asv.conf.json")
fi
plan=${HASHFILE:-}
if [ -z "$plan" ]; then
  plan="$work/plan.txt"
  ropebench plan "${REPO:?set REPO (or HASHFILE)}" "${RANGE:?set RANGE (or HASHFILE)}" --out "$plan" "${plan_conf[@]}"
fi
echo "plan: $(wc -l < "$plan") commit(s) in $plan"
n=0
while [ "$chunks" = all ] || [ "$n" -lt "$chunks" ]; do
  "$here/.github/scripts/restore-results.sh" "$work/restored" results
  ropebench chunks "$plan" --results "$work/restored" --machine "$RUNNER_MACHINE" --size "$size" --next \
    --out "$work/chunks" > /dev/null
  if [ ! -f "$work/chunks/chunk-0.txt" ]; then echo "nightly: nothing new"; exit 0; fi
  if cmp -s "$work/chunks/chunk-0.txt" "$work/last-chunk.txt" 2>/dev/null; then
    echo "nightly: the last chunk left commits without a result file; stopping (see asv's log above)"; exit 1
  fi
  cp "$work/chunks/chunk-0.txt" "$work/last-chunk.txt"
  rm -rf "$work/new-results"
  start=$SECONDS
  status=0
  "$here/.github/scripts/bench-chunk.sh" "$work/chunks/chunk-0.txt" "$work/new-results" || status=$?
  echo "chunk $n: $(wc -l < "$work/chunks/chunk-0.txt") commit(s), asv status $status, $((SECONDS - start)) s"
  # As the workflow's hosted push job: also after a failed chunk, whatever it measured is kept.
  "$here/.github/scripts/push-chunk.sh" "$work/new-results" "nightly.sh chunk $n"
  if [ "$status" != 0 ]; then exit "$status"; fi
  n=$((n + 1))
done
