# The set-up commands of the README: `make demo`, `make bench` and `make test`. Each creates what it needs.
PY ?= python3
VENV ?= .venv
CUDA_VENV ?= .venv-cuda
ARGS ?=
# FlashInfer only where there is a GPU to run it on.
BENCH_EXTRAS ?= $(shell nvidia-smi -L >/dev/null 2>&1 && echo gpu,flashinfer || echo gpu)

.PHONY: demo bench test lint mutants mutation test-cuda-build clean

# The whole asv flow on a CPU, no GPU and no network beyond the package index for the venv: a small
# vLLM-shaped history, plan, asv run, compare (finds the fixture's regression), publish. A few minutes.
demo:
	scripts/venv.sh $(VENV) asv
	$(VENV)/bin/python scripts/demo.py $(ARGS)

# Time the three backends on the seed grid (both styles) on this machine's GPU, or torch on the CPU.
# ARGS=--quick: a few representative points in under a minute.
bench:
	scripts/venv.sh $(VENV) $(BENCH_EXTRAS)
	$(VENV)/bin/ropebench run --styles neox,gptj $(ARGS)

# Everything CI runs: lint, the test suite (real asv runs included), and nvcc builds of GPU fixtures
# against a CUDA-enabled torch (no GPU needed).
test: lint
	$(VENV)/bin/python -m pytest -q -rs -m "not cuda_build" --durations=15
	$(MAKE) mutants
	$(MAKE) test-cuda-build

# Each named bug in tests/mutants/ must make the fast tests fail (about 3.5 min on 2 cores).
mutants:
	$(VENV)/bin/python scripts/check_mutants.py

# mutmut over the core modules -> docs/mutation.json and docs/mutation.md, rewritten after each module (hours on
# 2 cores). MODULES="reference merge": only those.
mutation:
	$(VENV)/bin/pip install -q "mutmut>=3,<4"
	$(VENV)/bin/python scripts/mutation_report.py run $(MODULES)

lint:
	scripts/venv.sh $(VENV) test
	$(VENV)/bin/ruff check ropebench benchmarks tests scripts
	$(VENV)/bin/actionlint .github/workflows/*.yml
	$(VENV)/bin/zizmor --offline .github/workflows/

# A second venv with PyPI's CUDA torch (a 5.5 GB wheel) only for compiling and linking CUDA fixtures.
test-cuda-build:
	scripts/venv.sh $(CUDA_VENV) test torch
	CUDA_HOME=$${CUDA_HOME:-/usr/local/cuda} $(CUDA_VENV)/bin/python -m pytest -q -rs -m cuda_build

clean:
	rm -rf $(VENV) $(CUDA_VENV) .asv out mutants
