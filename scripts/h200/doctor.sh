#!/usr/bin/env bash
# `ropebench doctor` on the GPU machine before and after building a real vLLM kernel (issue 13), and a
# --quick run that uses the built kernel. From the repo root, with a CUDA torch and ropebench installed:
#   VLLM_SRC=vendor/vllm-eras/E8 OUT=/tmp/out scripts/h200/doctor.sh
# Writes into $OUT: doctor-before.txt, build-kernel.txt, doctor-after.txt, doctor-after.json, quick.txt
# and the quick run's folder (run/). Nothing is pip-installed: the kernel is used from its unpacked wheel.
# DEVICE=cpu tries the same steps on a machine without a GPU (a CPU kernel, e.g. tests/fixtures/vllm_eras/e7).
set -uo pipefail
: "${VLLM_SRC:?set VLLM_SRC to a vLLM checkout with its RoPE kernel, e.g. vendor/vllm-eras/E8}"
: "${OUT:?set OUT to the folder that receives the outputs}"
mkdir -p "$OUT"
export CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
py=${PYTHON:-python}

{ date -u +"%F %T UTC"; hostname; "$py" -m ropebench doctor; echo "exit $?"; } > "$OUT/doctor-before.txt" 2>&1

start=$(date +%s)
wheel=$("$py" -m ropebench build-kernel "$VLLM_SRC" --out "$OUT/wheels" --device "${DEVICE:-cuda}" 2> "$OUT/build-kernel.txt")
rc=$?
echo "exit $rc, $(( $(date +%s) - start )) s, wheel $wheel" >> "$OUT/build-kernel.txt"
if [ "$rc" -ne 0 ]; then cat "$OUT/build-kernel.txt"; exit "$rc"; fi
rm -rf "$OUT/op" && mkdir -p "$OUT/op"
"$py" -m zipfile -e "$wheel" "$OUT/op"
export ROPEBENCH_VLLM_OP="$OUT/op/ropebench_vllm_kernel"

{ date -u +"%F %T UTC"; echo "ROPEBENCH_VLLM_OP=$ROPEBENCH_VLLM_OP"; "$py" -m ropebench doctor
  echo "exit $?"; } > "$OUT/doctor-after.txt" 2>&1
"$py" -m ropebench doctor --json > "$OUT/doctor-after.json" 2>&1
{ time "$py" -m ropebench run --quick --save-path "$OUT/run"; } > "$OUT/quick.txt" 2>&1
echo "quick run: exit $?" >> "$OUT/quick.txt"
cat "$OUT/doctor-before.txt" "$OUT/build-kernel.txt" "$OUT/doctor-after.txt"
tail -25 "$OUT/quick.txt"
