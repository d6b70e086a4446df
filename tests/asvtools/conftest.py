"""One real asv run over the toy project, shared by the compare and site tests (about 10 s)."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import REPO  # noqa: F401 - the one REPO, for this package's tests

from . import toyasv


@pytest.fixture(scope="session")
def toy_run(tmp_path_factory):
    """asv run --record-samples over base/same/slow/fast/broken; returns (conf, hashes by name, home)."""
    root = tmp_path_factory.mktemp("toyrun")
    names = ["base", "same", "slow", "fast", "broken"]
    proj, hashes = toyasv.make_project(root, [toyasv.STATES[n] for n in names])
    conf = toyasv.make_suite(root, proj)
    home = root / "home"
    toyasv.write_machine_file(home)
    hashfile = root / "all.txt"
    hashfile.write_text("\n".join(hashes) + "\n")
    # Exit 2 is asv's "a benchmark failed": the broken commit, on purpose.
    toyasv.asv(conf, "run", f"HASHFILE:{hashfile}", "--machine", toyasv.MACHINE, "--record-samples",
               "--show-stderr", home=home, check_codes=(2,))
    return conf, dict(zip(names, hashes)), home


@pytest.fixture
def toy_results(toy_run, tmp_path):
    """A private copy of the toy results folder, free to modify."""
    conf, hashes, _ = toy_run
    dst = tmp_path / "results"
    shutil.copytree(conf.parent / ".asv" / "results", dst)
    return dst, hashes


def has_tool(name: str) -> bool:
    return shutil.which(name) is not None


