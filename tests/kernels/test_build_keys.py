"""The builder's cache identity, without compiling: the source hash covers every file the kernel
includes, and the cache key tells archs apart. (A fake compiler stands in for nvcc.)"""

from __future__ import annotations

import shutil

import pytest

from ropebench.kernels import builder
from ropebench.kernels.source import read_kernel

from .kernel_helpers import ERAS_DIR


@pytest.fixture
def era(tmp_path):
    root = tmp_path / "e8"
    shutil.copytree(ERAS_DIR / "e8", root)
    return root


def test_a_header_only_change_changes_the_source_hash(era):
    """Bug caught: the source hash leaving out headers. A commit that changes only a header (the
    kernel's .cu untouched) would reuse the cached library and its regression would be missed."""
    before = builder.source_hash(read_kernel(era, "cuda"))
    assert "csrc/dispatch_utils.h" in read_kernel(era, "cuda").includes
    header = era / "csrc" / "dispatch_utils.h"
    header.write_text(header.read_text() + "\n#define ROPEBENCH_TEST_CHANGE 1\n")
    after = builder.source_hash(read_kernel(era, "cuda"))
    assert after != before
    nested = era / "csrc" / "core" / "cuda_compat.h"  # reached through a header of a header
    nested.write_text(nested.read_text() + "\n// changed\n")
    assert builder.source_hash(read_kernel(era, "cuda")) not in (before, after)


def test_the_source_hash_ignores_files_the_kernel_does_not_include(era):
    """The hash is of the include closure, not of the whole tree: an unrelated file changes nothing."""
    before = builder.source_hash(read_kernel(era, "cuda"))
    (era / "csrc" / "unrelated.cu").write_text("int unrelated() { return 1; }\n")
    binding = era / "csrc" / "torch_bindings.cpp"
    binding.write_text(binding.read_text() + "\n// changed\n")
    assert builder.source_hash(read_kernel(era, "cuda")) == before


@pytest.fixture
def fake_cuda(monkeypatch):
    """A CUDA torch and nvcc as far as the builder can tell; the compile returns fixed bytes."""
    compiled = []

    def compile_(src, record, home, cache, verbose):
        compiled.append(record["arch"])
        return None, b"\x7fELF fake library for " + record["arch"].encode()

    monkeypatch.setattr(builder, "torch_versions", lambda: ("2.14.1", "13.0"))
    monkeypatch.setattr(builder, "cuda_home", lambda: None)
    monkeypatch.setattr(builder, "nvcc_version", lambda home: "13.0.48")
    monkeypatch.setattr(builder, "_compile", compile_)
    return compiled


def test_the_cache_key_includes_the_arch(era, tmp_path, fake_cuda):
    """Bug caught: the cache key ignoring the arch: a library built for sm_90 would be served to a
    build for sm_100 (and fail or run the wrong code there)."""
    cache = tmp_path / "cache"

    def build(arch, out):
        return builder.build_kernel(era, tmp_path / out, device="cuda", arch=arch, cache_dir=cache)

    h100 = build("9.0", "a")
    b200 = build("10.0", "b")
    assert not h100.cached and not b200.cached and fake_cuda == ["9.0", "10.0"]
    assert h100.info["cache_key"] != b200.info["cache_key"]
    again = build("sm_90", "c")  # the same arch, written another way: served from the cache
    assert again.cached and again.info["cache_key"] == h100.info["cache_key"] and fake_cuda == ["9.0", "10.0"]


def test_a_header_change_misses_the_cache(era, tmp_path, fake_cuda):
    """Bug caught (end to end): a header-only change served the old library from the cache."""
    cache = tmp_path / "cache"
    first = builder.build_kernel(era, tmp_path / "a", device="cuda", arch="9.0", cache_dir=cache)
    header = era / "csrc" / "torch_utils.h"
    header.write_text(header.read_text() + "\n// a header-only commit\n")
    second = builder.build_kernel(era, tmp_path / "b", device="cuda", arch="9.0", cache_dir=cache)
    assert not second.cached and second.info["cache_key"] != first.info["cache_key"]
    assert fake_cuda == ["9.0", "9.0"]
