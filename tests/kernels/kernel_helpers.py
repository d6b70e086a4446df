"""Helpers for the kernel builder's tests: a throwaway venv, unpacking a wheel (the era fixtures and
the CLI come from tests/conftest.py)."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from tests.conftest import ERAS_DIR, REPO
from tests.conftest import run_cli as cli
from tests.era_fixtures import fixture_repo

__all__ = ["ERAS_DIR", "REPO", "cli", "fixture_repo", "throwaway_venv", "unpack"]


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
