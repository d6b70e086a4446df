#!/usr/bin/env bash
# Create (or reuse) a virtualenv with ropebench and what a job needs.
#   scripts/venv.sh DIR EXTRAS [TORCH_SPEC]
# TORCH_SPEC defaults to a CPU torch where there is no NVIDIA GPU (torch==2.13.0, on local disk here)
# and to PyPI's default (CUDA) torch where there is one.
set -euo pipefail
dir=${1:?venv dir}
extras=${2:-}
if [ -n "${3:-}" ]; then
  torch_spec=$3
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  torch_spec=torch
else
  torch_spec=torch==2.13.0
fi
root=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -x "$dir/bin/python" ]; then
  echo "creating $dir ($torch_spec)"
  python3 -m venv "$dir"
fi
"$dir/bin/python" -m pip install -q --upgrade pip
"$dir/bin/python" -m pip install -q "$torch_spec"
"$dir/bin/python" -m pip install -q -e "$root${extras:+[$extras]}"
