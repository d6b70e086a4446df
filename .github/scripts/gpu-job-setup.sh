#!/usr/bin/env bash
# Prepare a GPU job without touching the runner's (or image's) own Python or the shared caches.
#   gpu-job-setup.sh EXTRAS
# - a job-local venv in $RUNNER_TEMP/venv that sees the base interpreter's packages (its CUDA torch)
#   through a .pth file, as ropebench's asv environment does; ropebench and EXTRAS go into it,
#   with constraints/runner.txt;
# - ROPEBENCH_CACHE: the host's shared kernel cache only for the trusted nightly of main
#   (TRUSTED=true), else a job-local folder that goes with the job (builds of other refs can be
#   anything);
# - asv's clone of vLLM as a --shared clone of the host's read-only mirror ($VLLM_MIRROR): no network,
#   no copy of its 1 GB, and the job cannot change the mirror.
set -euo pipefail
extras=${1:-asv}
tmp=${RUNNER_TEMP:?}
venv="$tmp/venv"
python=${BASE_PYTHON:-python3}
"$python" -m venv "$venv"
"$python" - "$venv" <<'PY'
import site, sys, sysconfig
from pathlib import Path
purelib = Path(sysconfig.get_paths(vars={"base": sys.argv[1], "platbase": sys.argv[1]})["purelib"])
dirs = [d for d in site.getsitepackages() + [site.getusersitepackages()] if Path(d).is_dir()]
(purelib / "ropebench-base-site.pth").write_text("".join(f"import site; site.addsitedir({d!r})\n" for d in dirs))
PY
"$venv/bin/python" -m pip install -q --disable-pip-version-check -c constraints/runner.txt -e ".[$extras]"
if [ "${TRUSTED:-false}" = true ] && [ -n "${SHARED_KERNEL_CACHE:-}" ]; then
  cache=$SHARED_KERNEL_CACHE
else
  cache="$tmp/kernels"
fi
mkdir -p "$cache"
if [ -n "${VLLM_MIRROR:-}" ] && [ ! -d vllm ]; then
  git clone -q --mirror --shared "$VLLM_MIRROR" vllm
fi
if [ -n "${GITHUB_ENV:-}" ]; then
  echo "ROPEBENCH_CACHE=$cache" >> "$GITHUB_ENV"
  echo "$venv/bin" >> "$GITHUB_PATH"
fi
echo "job venv $venv (sees $("$venv/bin/python" -c 'import sys; print(len(sys.path))') path entries); kernel cache $cache"
