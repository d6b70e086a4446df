#!/usr/bin/env bash
# H200 check of the restructure branch (issue 14), from the repo root on a machine with torch+CUDA,
# asv and FlashInfer (the lead's GPU venv). Writes everything under ${OUT:-out/restructure-check}.
#  1. GPU tests: every registered backend's correctness, the timer, the server, each era fixture's kernel
#     (the fixtures are now generated from one stand-in kernel: tests/fixtures/vllm_eras/generate.py).
#  2. ropebench run --single at the headline, twice (the tests helper's headline_before_after.sh compares
#     against main in the same device call).
#  3. fidelity's detection part, which now reads asv continuous's results through ropebench compare and
#     builds its -b selection from the suite's class: one try each way against vendor/vllm.
set -euo pipefail
OUT=${OUT:-out/restructure-check}
VLLM=${VLLM:-vendor/vllm}
mkdir -p "$OUT"
export CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}

python -m pytest -q -m gpu -rs tests/test_gpu.py tests/kernels/test_kernels_gpu.py 2>&1 | tee "$OUT/gpu-tests.txt"
python -m pytest -q -m cuda_build tests/kernels/test_build_cuda.py 2>&1 | tee "$OUT/cuda-build.txt"
for i in 1 2; do
  python -m ropebench run --single --batch-size 16 --seq-len 512 --num-heads 32 --no-eager \
    --save-path "$OUT/headline-$i" 2>&1 | tee "$OUT/headline-$i.txt"
done
if [ -d "$VLLM" ]; then
  python -m ropebench fidelity --parts detect --vllm-src "$VLLM" --tries 1 --out "$OUT/fidelity.md" \
    2>&1 | tee "$OUT/fidelity.txt"
else
  echo "no $VLLM: fidelity detection not run" | tee "$OUT/fidelity.txt"
fi
python scripts/suite_signature.py > "$OUT/suite-signature.json"
