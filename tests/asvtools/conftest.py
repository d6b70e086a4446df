"""The toy project's asv results: one real asv run (shared by the slow tests, about 20 s), or its recording."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO  # noqa: F401 - the one REPO, for this package's tests

from . import toyasv

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "asv_results"


@pytest.fixture(scope="session")
def toy_run(tmp_path_factory):
    """A real asv run over base/same/slow/fast/broken; returns (conf, hashes by name, home)."""
    return toyasv.run_all(tmp_path_factory.mktemp("toyrun"))


@pytest.fixture
def toy_results(toy_run, tmp_path):
    """A private copy of the real run's results folder, free to modify."""
    conf, hashes, _ = toy_run
    dst = tmp_path / "results"
    shutil.copytree(conf.parent / ".asv" / "results", dst)
    return dst, hashes


@pytest.fixture
def recorded_results(tmp_path):
    """A private copy of the recorded asv results (the same run, made once: see its README)."""
    dst = tmp_path / "recorded"
    shutil.copytree(RECORDED, dst, ignore=shutil.ignore_patterns("README.md", "hashes.json"))
    return dst, json.loads((RECORDED / "hashes.json").read_text())


def has_tool(name: str) -> bool:
    return shutil.which(name) is not None


