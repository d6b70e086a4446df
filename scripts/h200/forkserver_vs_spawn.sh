#!/usr/bin/env bash
# forkserver_vs_spawn.sh: issue 10 on the H200. Over a local history of real vLLM RoPE kernels (REPO, about
# 6 commits of 3+ eras with unrelated commits between them; kept out of the repository):
#   1. `ropebench plan` over the whole history            -> $OUT/plan.json, plan.txt (the selection)
#   2. `asv run HASHFILE:plan.txt`, launch_method forkserver (asv.conf.json as committed), whole suite
#                                                         -> per-commit suite and build times
#   3. the newest commit again, whole suite, with `--launch-method spawn` (own results folder)
#   4. forkserver vs spawn on the newest commit over the 240-point grid (ratio per point, within 2%?),
#      per-commit wall times, the planned run against measuring every commit (extrapolated from the
#      per-commit figures)                               -> $OUT/summary.json, $OUT/summary.txt
# Needs: a CUDA torch, asv 0.6.6, FlashInfer, ropebench installed (pip install -e '.[asv,flashinfer,gpu]').
#
#   REPO=/path/to/history bash scripts/h200/forkserver_vs_spawn.sh      # or, without REPO, the history of
#   bash scripts/h200/forkserver_vs_spawn.sh                             # vendor/make_history.sh (E3, E6, E8)
#
# Budget: about 4 selected commits x ~50 s + cold builds (legacy ~55 s, stable ~13 s) = ~4.5 min, and one spawn
# commit (~160 s). With 2+ GPUs visible (nvidia-h200-x2) the spawn run goes on the second GPU at the same time:
# ~5 min in all (PARALLEL=0 keeps them apart). On one GPU, run it in two calls of under 10 minutes each with
# the state in an ignored folder: WORK=.asv/fvs STAGE=plan-fork ..., then WORK=.asv/fvs STAGE=spawn ...
# (the second call also writes the summary; STAGE=report only re-writes it). Each asv run has a timeout
# (FORK_TIMEOUT, SPAWN_TIMEOUT) so whatever was measured still comes back.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${OUT:-$ROOT/out/forkserver_vs_spawn}
WORK=${WORK:-$(mktemp -d /tmp/fvs.XXXXXX)}
STAGE=${STAGE:-all}
MACHINE=${MACHINE:-h200}
FORK_TIMEOUT=${FORK_TIMEOUT:-420}
SPAWN_TIMEOUT=${SPAWN_TIMEOUT:-260}
PY=${PYTHON:-python}
# Extra asv arguments for both runs, e.g. a -b selection for a CPU smoke test; empty on the H200.
read -r -a ASV_ARGS <<< "${ASV_ARGS:-}"
mkdir -p "$OUT" "$WORK"
WORK=$(cd "$WORK" && pwd)
OUT=$(cd "$OUT" && pwd)
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$OUT/steps.log" >&2; }

if [ -z "${REPO:-}" ]; then
  REPO=$WORK/vllm
  if [ ! -d "$REPO/.git" ]; then
    [ -f "$ROOT/vendor/make_history.sh" ] || { echo "error: set REPO to a local vLLM-kernel history" >&2; exit 2; }
    bash "$ROOT/vendor/make_history.sh" "$REPO" > "$OUT/history-shas.txt"
  fi
fi
REPO=$(cd "$REPO" && pwd)
git -C "$REPO" log --first-parent --format='%H %s' main > "$OUT/history.txt"
NEWEST=$(git -C "$REPO" rev-parse main)
GPUS=$($PY -c 'import torch; print(torch.cuda.device_count())')
PARALLEL=${PARALLEL:-$([ "$GPUS" -ge 2 ] && echo 1 || echo 0)}

# SHARED_HOME=1: both runs share one HOME, so the kernel and FlashInfer JIT caches built by the first
# serve the second (its wall time is then the suite's, not the compilers').
home_of() { if [ -n "${SHARED_HOME:-}" ]; then echo "$WORK/home"; else echo "$WORK/$1/home"; fi; }
# FORK_HASHFILE=newest: the forkserver run measures only the newest commit (the plan is still made).

# One asv config per launch method: the committed asv.conf.json with repo and folders pointed here.
mkconf() {  # mkconf NAME LAUNCH_METHOD
  $PY - "$ROOT/asv.conf.json" "$WORK/$1" "$REPO" "$2" <<'EOF'
import json, sys
from asv.util import load_json
src, folder, repo, launch = sys.argv[1:]
conf = load_json(src, js_comments=True)  # asv's own reader of the // comments
conf.update(repo=repo, branches=["main"], benchmark_dir=src.rsplit("/", 1)[0] + "/benchmarks",
            env_dir=folder + "/env", results_dir=folder + "/results", html_dir=folder + "/html",
            launch_method=launch)
import os; os.makedirs(folder, exist_ok=True)
json.dump(conf, open(folder + "/asv.conf.json", "w"), indent=1)
EOF
  mkdir -p "$(home_of "$1")"
  HOME=$(home_of "$1") ropebench machine --machine "$MACHINE" --file "$(home_of "$1")/.asv-machine.json" >/dev/null
}

run_fork() {
  mkconf fork forkserver
  log "plan over $(wc -l < "$OUT/history.txt") commits"
  (cd "$WORK/fork" && ropebench plan main --device "${PLAN_DEVICE:-cuda}" --out "$OUT/plan.txt" > "$OUT/plan.json")
  log "selected: $(tr '\n' ' ' < "$OUT/plan.txt")"
  local fork_hashes=$OUT/plan.txt
  if [ "${FORK_HASHFILE:-}" = newest ]; then fork_hashes=$WORK/newest.txt; echo "$NEWEST" > "$fork_hashes"; fi
  log "forkserver: asv run HASHFILE (whole suite per selected commit)"
  local t0; t0=$(date +%s.%N)
  (cd "$WORK/fork" && HOME=$(home_of fork) CUDA_VISIBLE_DEVICES=${FORK_GPU:-0} timeout "$FORK_TIMEOUT" \
     asv run "HASHFILE:$fork_hashes" --machine "$MACHINE" --record-samples --show-stderr "${ASV_ARGS[@]}" \
     > "$OUT/asv-forkserver.log" 2>&1) || log "forkserver run ended with $? (see asv-forkserver.log)"
  echo "$(date +%s.%N) $t0" | awk '{printf "%.1f\n", $1 - $2}' > "$OUT/forkserver-run-seconds.txt"
  (cd "$WORK/fork" && HOME=$(home_of fork) ropebench sidecar --newer-than "$OUT/plan.txt" > /dev/null) || true
  log "forkserver run: $(cat "$OUT/forkserver-run-seconds.txt") s"
}

run_spawn() {
  mkconf spawn spawn
  log "spawn: the newest commit ($NEWEST), whole suite"
  local t0; t0=$(date +%s.%N)
  (cd "$WORK/spawn" && HOME=$(home_of spawn) CUDA_VISIBLE_DEVICES=${SPAWN_GPU:-$([ "$PARALLEL" = 1 ] && echo 1 || echo 0)} \
     timeout "$SPAWN_TIMEOUT" asv run "$NEWEST^!" --launch-method spawn --machine "$MACHINE" --record-samples \
     --show-stderr "${ASV_ARGS[@]}" > "$OUT/asv-spawn.log" 2>&1) || log "spawn run ended with $? (see asv-spawn.log)"
  echo "$(date +%s.%N) $t0" | awk '{printf "%.1f\n", $1 - $2}' > "$OUT/spawn-run-seconds.txt"
  log "spawn run: $(cat "$OUT/spawn-run-seconds.txt") s"
}

case "$STAGE" in
  all)
    if [ "$PARALLEL" = 1 ]; then
      log "two GPUs: forkserver on GPU 0 and spawn on GPU 1 at the same time"
      run_spawn & spawn_pid=$!
      run_fork
      wait "$spawn_pid" || true
    else
      run_fork
      run_spawn
    fi ;;
  plan-fork) run_fork ;;
  spawn) run_spawn ;;
  report) ;;
  *) echo "error: STAGE must be all, plan-fork, spawn or report" >&2; exit 2 ;;
esac

$PY - "$WORK" "$OUT" "$MACHINE" "$NEWEST" "$PARALLEL" <<'EOF'
import json, statistics, sys
from pathlib import Path
from asv.results import iter_results_for_machine

work, out, machine, newest, parallel = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
GRID = "rope.RoPE.time_rope"

def load(method):
    folder = work / method / "results"
    if not (folder / machine).is_dir():
        return {}
    return {r.commit_hash: r for r in iter_results_for_machine(str(folder), machine)}

def suite_seconds(r):
    return sum(v for k, v in r.duration.items() if k != "<build>")

def points(r, prefix=""):
    out = {}
    for key in r.get_all_result_keys():
        if not key.startswith(prefix):
            continue
        import itertools
        params = r.get_result_params(key)
        for combo, v in zip(itertools.product(*params), r.get_result_value(key, params) or []):
            out[(key, combo)] = v
    return out

fork, spawn = load("fork"), load("spawn")
plan = json.loads((out / "plan.json").read_text()) if (out / "plan.json").exists() else {}
history = (out / "history.txt").read_text().splitlines() if (out / "history.txt").exists() else []
per_commit = {}
for sha, r in fork.items():
    measured = [v for v in points(r).values() if v is not None and v == v]
    per_commit[sha] = {"forkserver_suite_s": round(suite_seconds(r), 1), "build_s": round(r.duration.get("<build>", 0), 1),
                       "points_measured": len(measured), "points_total": len(points(r))}
    if sha == newest and GRID in r.duration:
        per_commit[sha]["forkserver_grid_s"] = round(r.duration[GRID], 1)
if newest in spawn:
    r = spawn[newest]
    per_commit.setdefault(newest, {}).update(spawn_suite_s=round(suite_seconds(r), 1),
                                             spawn_grid_s=round(r.duration.get(GRID, 0), 1))
comparison = {}
if newest in fork and newest in spawn:
    a, b = points(fork[newest], GRID), points(spawn[newest], GRID)
    ratios = sorted(a[k] / b[k] for k in a if k in b and a[k] and b[k] and a[k] == a[k] and b[k] == b[k])
    comparison = {"grid_points_compared": len(ratios), "median_ratio_fork_over_spawn": statistics.median(ratios) if ratios else None,
                  "min_ratio": ratios[0] if ratios else None, "max_ratio": ratios[-1] if ratios else None,
                  "within_2_percent": sum(abs(x - 1) <= 0.02 for x in ratios),
                  "all_within_2_percent": bool(ratios) and all(abs(x - 1) <= 0.02 for x in ratios)}
fork_suites = [v["forkserver_suite_s"] for v in per_commit.values() if "forkserver_suite_s" in v]
mean_fork = statistics.mean(fork_suites) if fork_suites else None
spawn_s = per_commit.get(newest, {}).get("spawn_suite_s")
n_hist, n_sel = len(history), plan.get("selected_count")
run_s = float((out / "forkserver-run-seconds.txt").read_text()) if (out / "forkserver-run-seconds.txt").exists() else None
extrapolation = {
    "history_commits": n_hist, "planned_commits": n_sel, "planned_run_wall_s": run_s,
    "every_commit_forkserver_s": round(mean_fork * n_hist, 0) if mean_fork and n_hist else None,
    "every_commit_spawn_s": round(spawn_s * n_hist, 0) if spawn_s and n_hist else None,
    "planned_forkserver_s": round(mean_fork * n_sel, 0) if mean_fork and n_sel else None,
    "note": "suite seconds per commit exclude builds; every-commit figures = mean per-commit suite time x commits",
}
summary = {"machine": machine, "newest": newest, "spawn_on_second_gpu_concurrently": parallel == "1",
           "plan": {k: plan.get(k) for k in ("commits_walked", "selected_count", "reasons", "seconds")},
           "selection": [(e["commit"], e["reasons"]) for e in plan.get("selected", [])],
           "per_commit": per_commit, "forkserver_vs_spawn_grid": comparison, "cost": extrapolation}
(out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
lines = [f"history: {n_hist} commits; plan selected {n_sel}: " + ", ".join(f"{c[:8]} {'+'.join(r)}" for c, r in summary["selection"])]
for sha, v in per_commit.items():
    lines.append(f"{sha[:8]}: " + ", ".join(f"{k} {val}" for k, val in v.items()))
lines.append(f"grid forkserver/spawn on {newest[:8]}: {json.dumps(comparison)}")
lines.append(f"cost: {json.dumps(extrapolation)}")
(out / "summary.txt").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
