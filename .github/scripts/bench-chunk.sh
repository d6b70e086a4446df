#!/usr/bin/env bash
# One chunk of history on this host's GPU(s), as the history workflow's GPU job runs it.
#   bench-chunk.sh HASHFILE OUT
# 1. health check of each GPU (ropebench health): a GPU that is not fit is not measured (exit 1,
#    the reasons in OUT/health-K.json and the log);
# 2. asv's machine file; 3. asv run HASHFILE: (one asv per GPU when GPUS > 1, merged);
# 4. every file asv wrote goes to OUT, each result with a sidecar holding the health reading, the
#    installed versions and the kernel's build record.
# asv starts from an empty results folder, so everything in it is this chunk's: no "newer than the
# restore" filter (which dropped an unchanged machine.json, and with it the machine's results).
# Env: RUNNER_MACHINE (asv machine name), GPUS (1), BENCH (asv -b regex), ASV_EXTRA (more asv run
# arguments), HEALTH=off only where there is no NVML to read (the CI tests).
set -euo pipefail
hashfile=$(realpath "$1")
out=$2
: "${RUNNER_MACHINE:?set RUNNER_MACHINE, the asv machine name}"
gpus=${GPUS:-1}
mkdir -p "$out"
# Results a user had here are moved aside, never deleted (in a job the folder does not exist).
if [ -n "$(ls -A .asv/results 2>/dev/null)" ]; then mv .asv/results ".asv/results.before-$(date +%Y%m%d-%H%M%S)"; fi
rm -rf .asv/results .asv/results-shard-* .asv/gpu
for ((k = 0; k < gpus; k++)); do
  if [ "${HEALTH:-on}" = off ]; then
    echo '{"ok": null, "checked": false, "problems": ["not checked: HEALTH=off"]}' > "$out/health-$k.json"
  elif ! ropebench health --device "cuda:$k" --out "$out/health-$k.json"; then
    echo "::error::GPU $k is not fit to measure; nothing was measured (reasons in health-$k.json)"
    exit 1
  fi
done
ropebench machine --machine "$RUNNER_MACHINE"
args=(--machine "$RUNNER_MACHINE" --record-samples --show-stderr --skip-existing-commits)
if [ -n "${BENCH:-}" ]; then args+=(-b "$BENCH"); fi
read -ra extra <<< "${ASV_EXTRA:-}"
status=0
if [ "$gpus" = 1 ]; then
  asv run "HASHFILE:$hashfile" "${args[@]}" "${extra[@]}" || status=$?
  if [ -d .asv/results ]; then
    ropebench health --attach .asv/results --reading "$out/health-0.json"
    ropebench sidecar --all --results .asv/results  # the kernel's build record (toolchain suspects)
  fi
else
  # One asv per GPU with its own results/env folders and HOME (asv rewrites ~/.asv-machine.json at
  # every start: a shared one races); absolute paths, as asv changes into its config's folder.
  gpu="$PWD/.asv/gpu"
  ropebench shard "HASHFILE:$hashfile" --shards "$gpus" --out "$gpu" --asv-confs
  pids=()
  for ((k = 0; k < gpus; k++)); do
    if [ ! -f "$gpu/shard-$k.txt" ]; then continue; fi
    home="$PWD/.asv/home-$k"
    mkdir -p "$home"
    cp ~/.asv-machine.json "$home/"
    ln -sfn "$HOME/.cache" "$home/.cache"
    CUDA_VISIBLE_DEVICES=$k HOME=$home asv run "HASHFILE:$gpu/shard-$k.txt" --config "$gpu/shard-$k.asv.conf.json" \
      --no-pull "${args[@]}" "${extra[@]}" > ".asv/gpu-$k.log" 2>&1 &
    pids+=("$!")
  done
  for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
  for log in .asv/gpu-*.log; do echo "::group::$log"; cat "$log"; echo "::endgroup::"; done
  shards=()
  for ((k = 0; k < gpus; k++)); do
    d=.asv/results-shard-$k
    if [ -d "$d" ]; then
      ropebench health --attach "$d" --reading "$out/health-$k.json"
      ropebench sidecar --all --results "$d"  # env folders of the shards are found by default
      shards+=("$d")
    fi
  done
  if [ "${#shards[@]}" -gt 0 ]; then ropebench merge .asv/results "${shards[@]}"; fi
fi
if [ -d .asv/results ]; then cp -a .asv/results/. "$out/"; fi
echo "result files for the push: $(find "$out" -name '*.json' ! -name 'health-*' | wc -l)"
# asv exits 2 when a benchmark failed; what it measured is in OUT either way.
echo "asv exited $status"
exit "$status"
