"""Helpers for the kernel builder's tests: the era fixtures, the CLI, a throwaway venv, unpacking.

(A module of its own, not conftest.py: another conftest.py may sit higher in tests/.)
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ERAS_DIR = REPO / "tests" / "fixtures" / "vllm_eras"


def _load_fixture_repo():
    spec = importlib.util.spec_from_file_location("vllm_fixture_repo", ERAS_DIR / "fixture_repo.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


fixture_repo = _load_fixture_repo()


def cli(*args, env=None, python=None, timeout=600):
    """Run ``python -m ropebench ARGS``; return the CompletedProcess (text)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([python or sys.executable, "-m", "ropebench", *map(str, args)],
                          capture_output=True, text=True, env=full_env, timeout=timeout)


def unpack(wheel: Path, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(dest)
    return dest / "ropebench_vllm_kernel"


def throwaway_venv(path: Path) -> Path:
    """A venv (no pip of its own) that sees this interpreter's packages through a .pth file, so
    ``pip install`` into it leaves the test's own environment untouched. Returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    py = path / "bin" / "python"
    child_site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                check=True, capture_output=True, text=True).stdout.strip()
    parent = sysconfig.get_paths()["purelib"]
    Path(child_site, "ropebench_parent.pth").write_text(parent + "\n")
    return py
