"""Shared test setup: GPU-only tests skip, with the reason, on machines without a CUDA GPU; the repo's
root (REPO), the CLI as a user runs it (run_cli, the ``cli`` fixture) and in-process (``cli_main``), and
where the vLLM-era fixture trees are (ERAS_DIR; their git-history helper: tests/era_fixtures.py)."""

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[1]
ERAS_DIR = REPO / "tests" / "fixtures" / "vllm_eras"


def _has_gpu() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:  # noqa: BLE001
        return False


HAS_GPU = _has_gpu()


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs a CUDA GPU (this machine has none); run on the GPU machine")
    for item in items:
        if "gpu" in item.keywords and not HAS_GPU:
            item.add_marker(skip)


def run_cli(*args, env=None, cwd=None, python=None, timeout=600):
    """Run `python -m ropebench ARGS` as a user would; returns CompletedProcess (text). For what needs a
    process of its own: another interpreter, the environment, signals, or what the import does."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([python or sys.executable, "-m", "ropebench", *map(str, args)], capture_output=True,
                          text=True, env=full_env, cwd=cwd, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


def main_in_process(*args):
    """``ropebench ARGS`` through cli.main() in this process; returncode, stdout and stderr as run_cli's."""
    from ropebench import cli as ropebench_cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = ropebench_cli.main([str(a) for a in args])
        except SystemExit as exc:  # argparse's usage errors and --help
            rc = exc.code if isinstance(exc.code, int) else 2
    return SimpleNamespace(returncode=rc, stdout=out.getvalue(), stderr=err.getvalue())


@pytest.fixture
def cli_main():
    return main_in_process
