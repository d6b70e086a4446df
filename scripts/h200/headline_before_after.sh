#!/usr/bin/env bash
# The timing-arithmetic split of issue 12 (timing.py's CudaEvents and per-call division, result.py's floor
# and speed-up functions) checked on the H200 in ONE device call: the GPU tests and the README headline
# point, with the tree before the change and the current one, interleaved old/new/old/new, then compared
# with the committed headline (README "Measured results") and its documented spread.
#
#   OLD=/path/to/old/tree scripts/h200/headline_before_after.sh [OUT]      # from the current tree's root
#
# OLD: a checkout of the code before the change (e.g. `git worktree add /tmp/old 9a6bc56`).
# PY: a python with CUDA torch and ropebench's dependencies (default: .venv/bin/python if present, else python3).
# VLLM_OP: a folder of a vLLM op built by build-kernel (passed as --vllm-op); else the backend auto-detects.
# SPREAD_PCT: the documented spread (default 1.44: five separate processes agreed within 0.01-1.44%).
set -uo pipefail
: "${OLD:?set OLD to a checkout of the tree before the change}"
NEW=$(pwd)
OLD=$(cd "$OLD" && pwd)
OUT=$(mkdir -p "${1:-out/h200-before-after}" && cd "${1:-out/h200-before-after}" && pwd)
PY=${PY:-$([ -x .venv/bin/python ] && echo "$NEW/.venv/bin/python" || echo python3)}
SPREAD_PCT=${SPREAD_PCT:-1.44}
tree_of() { if [ "$1" = old ]; then echo "$OLD"; else echo "$NEW"; fi; }

nvidia-smi --query-gpu=name,clocks.max.sm,driver_version --format=csv,noheader
for side in old new; do
  tree=$(tree_of $side)
  echo "== GPU tests, $side tree ($tree)"
  (cd "$tree" && PYTHONPATH="$tree" "$PY" -m pytest -q -m gpu -p no:cacheprovider tests) > "$OUT/$side-gpu-tests.log" 2>&1
  echo "exit $?: $(tail -1 "$OUT/$side-gpu-tests.log")"
done

for run in old-1 new-1 old-2 new-2; do
  tree=$(tree_of "${run%-*}")
  echo "== headline, $run"
  (cd "$tree" && PYTHONPATH="$tree" "$PY" -m ropebench run --single --batch-size 16 --seq-len 512 --num-heads 32 \
      --head-size 128 --rotary-dim 32 --dtype bfloat16 --is-neox-style true --save-path "$OUT/$run" \
      ${VLLM_OP:+--vllm-op "$VLLM_OP"}) > "$OUT/$run.log" 2>&1
  echo "exit $?"
done

"$PY" - "$OUT" "$NEW/README.md" "$SPREAD_PCT" <<'PYEOF'
import csv, re, sys
from pathlib import Path

out, readme, spread = Path(sys.argv[1]), Path(sys.argv[2]).read_text(), float(sys.argv[3])
section = readme.split("## Measured results", 1)[1].split("\n## ", 1)[0]
committed = {}  # backend -> (kernel µs, eager µs, % of floor)
for name, key in (("torch", "torch"), ("FlashInfer", "flashinfer"), ("vLLM", "vllm")):
    m = re.search(r"^\| " + name + r"[^|]*\| ([\d.]+) \[[^]]*\] \| ([\d.]+) \| ([\d.]+)%", section, re.M)
    if m:
        committed[key] = tuple(map(float, m.groups()))
floor = re.search(r"floor ([\d.]+) µs at (\d+) GB/s", section)
print(f"\ncommitted headline: {committed}; floor {floor.group(1)} µs at {floor.group(2)} GB/s" if floor else "")

runs = {}
for run in ("old-1", "new-1", "old-2", "new-2"):
    path = out / run / "rope.csv"
    runs[run] = {r["backend"]: r for r in csv.DictReader(path.open())} if path.is_file() else {}

def num(row, col):
    try:
        return float(row[col])
    except (KeyError, TypeError, ValueError):
        return float("nan")

verdicts = []
hdr = f"{'backend':<11}{'run':<7}{'status':<9}{'kernel µs':>10}{'eager µs':>10}{'floor µs':>10}{'% floor':>9}{'vs README':>11}"
print(hdr)
for b in ("torch", "flashinfer", "vllm"):
    for run, rows in runs.items():
        r = rows.get(b)
        if not r:
            print(f"{b:<11}{run:<7}(no row)")
            continue
        k = num(r, "median_us")
        ref = committed.get(b, (float("nan"),))[0]
        dev = 100 * (k / ref - 1)
        print(f"{b:<11}{run:<7}{r['status']:<9}{k:>10.1f}{num(r, 'eager_median_us'):>10.1f}{num(r, 'floor_us'):>10.1f}"
              f"{num(r, 'pct_of_floor'):>8.1f}%{dev:>+10.2f}%")
    new = [num(runs[x].get(b, {}), "median_us") for x in ("new-1", "new-2")]
    old = [num(runs[x].get(b, {}), "median_us") for x in ("old-1", "old-2")]
    if all(v == v for v in new + old):
        same_call = 100 * (sum(new) / sum(old) - 1)
        ref = committed.get(b, (float("nan"),))[0]
        vs_readme = [100 * (v / ref - 1) for v in new]
        ok = abs(same_call) <= spread and all(abs(d) <= spread for d in vs_readme)
        verdicts.append(ok)
        print(f"{b}: new/old in this call {same_call:+.2f}%, new vs README {', '.join(f'{d:+.2f}%' for d in vs_readme)}"
              f" -> {'WITHIN' if ok else 'OUTSIDE'} the documented spread of {spread}%")
    else:
        print(f"{b}: not measured on both trees (see the logs in {out})")
print("\nVERDICT:", "all measured backends within the spread" if verdicts and all(verdicts)
      else "check the rows above: some backend is outside the spread or missing")
PYEOF
