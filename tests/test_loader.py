"""Where the vllm backend looks for its op."""

import importlib.util
import sys
from pathlib import Path

from ropebench.kernels import loader


def _spec_at(path: Path):
    return importlib.util.spec_from_file_location("ropebench_vllm_kernel", path / "__init__.py",
                                                  submodule_search_locations=[str(path)])


def test_under_asv_only_the_environment_s_own_op_counts(tmp_path, monkeypatch):
    outside = _spec_at(tmp_path / "ropebench_vllm_kernel")
    inside = _spec_at(Path(sys.prefix) / "lib" / "ropebench_vllm_kernel")
    monkeypatch.delenv("ASV", raising=False)
    assert loader._ours(outside) and loader._ours(inside)
    monkeypatch.setenv("ASV", "true")  # what asv sets for benchmark processes
    assert not loader._ours(outside) and loader._ours(inside)


def test_no_op_says_how_to_get_one(monkeypatch):
    monkeypatch.delenv(loader.ENV_OP_DIR, raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    op, why = loader.find_op()
    assert op is None and "build-kernel" in why
