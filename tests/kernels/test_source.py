"""kernel-info on every era fixture: traits, include closures, schemas; and its failure modes."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from ropebench.errors import EXIT_NO_KERNEL, RopeBenchError
from ropebench.kernels.builder import source_hash
from ropebench.kernels.gittree import GitRepo
from ropebench.kernels.source import NoKernel, find_host_definition, read_kernel, read_tree

from .kernel_helpers import ERAS_DIR, cli

BASE = "rotary_embedding(Tensor positions, Tensor! query, Tensor{k} key, int head_size, Tensor cos_sin_cache"
S_LEGACY_KEY = BASE.format(k="!") + ", bool is_neox) -> ()"
S_OPT_KEY = BASE.format(k="!?") + ", bool is_neox) -> ()"
S_EXTRAS = BASE.format(k="!?") + ", bool is_neox, int rope_dim_offset=0, bool inverse=False) -> ()"
LEGACY_INC = ["csrc/cuda_compat.h", "csrc/dispatch_utils.h"]


def row(kernel, abi, function, neox, key_opt, extras, hs, includes, schema):
    return {"kernel": kernel, "abi": abi, "function": function, "is_neox_arg": neox,
            "key_optional": key_opt, "rope_dim_offset": extras, "inverse": extras,
            "head_size_type": hs, "includes": includes, "schema": schema}


KCU = "csrc/pos_encoding_kernels.cu"
EXPECTED = {
    "e0": row(KCU, "legacy", "rotary_embedding_neox", False, False, False, "int", [],
              BASE.format(k="!") + ") -> ()"),
    "e1": row(KCU, "legacy", "rotary_embedding", True, False, False, "int", ["csrc/dispatch_utils.h"],
              S_LEGACY_KEY),
    "e2": row(KCU, "legacy", "rotary_embedding", True, False, False, "int", LEGACY_INC, S_LEGACY_KEY),
    "e3": row(KCU, "legacy", "rotary_embedding", True, False, False, "int64_t", LEGACY_INC, S_LEGACY_KEY),
    "e4": row(KCU, "legacy", "rotary_embedding", True, True, False, "int64_t", LEGACY_INC, S_OPT_KEY),
    "e6": row(KCU, "legacy", "rotary_embedding", True, True, True, "int64_t", LEGACY_INC, S_EXTRAS),
    "e7": row("csrc/libtorch_stable/pos_encoding_kernels.cu", "stable", "rotary_embedding", True, True, False,
              "int64_t", ["csrc/cuda_compat.h", "csrc/libtorch_stable/dispatch_utils.h",
                          "csrc/libtorch_stable/torch_utils.h"], S_OPT_KEY),
    "e8": row(KCU, "stable", "rotary_embedding", True, True, True, "int64_t",
              ["csrc/core/cuda_compat.h", "csrc/dispatch_utils.h", "csrc/torch_utils.h"], S_EXTRAS),
}
EXPECTED_CPU = {
    "e4": row("csrc/cpu/pos_encoding.cpp", "legacy", "rotary_embedding", True, True, False, "int64_t",
              ["csrc/cpu/cpu_types.hpp"], S_OPT_KEY),
    "e7": row("csrc/libtorch_stable/cpu/pos_encoding.cpp", "stable", "rotary_embedding", True, True, False,
              "int64_t", ["csrc/libtorch_stable/cpu/cpu_types.hpp", "csrc/libtorch_stable/dispatch_utils.h"],
              S_OPT_KEY),
}


@pytest.mark.parametrize("era", sorted(EXPECTED))
def test_kernel_info_every_era(era):
    assert read_kernel(ERAS_DIR / era).info() == EXPECTED[era]


@pytest.mark.parametrize("era", sorted(EXPECTED_CPU))
def test_kernel_info_cpu_kernels(era):
    assert read_kernel(ERAS_DIR / era, "cpu").info() == EXPECTED_CPU[era]


def test_schema_matches_the_era_registration_text():
    """Where the era registers a schema string, ours is the same (theirs may split it over lines)."""
    for era in ("e3", "e4", "e6", "e7", "e8"):
        bindings = next((ERAS_DIR / era).rglob("torch_bindings.cpp")).read_text()
        literal = "".join(part for part in bindings.split('"')[1::2])
        assert EXPECTED[era]["schema"] in literal, era


def test_cli_prints_exactly_the_documented_keys():
    proc = cli("kernel-info", ERAS_DIR / "e8")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == EXPECTED["e8"]
    proc = cli("kernel-info", ERAS_DIR / "e4", "--device", "cpu")
    assert json.loads(proc.stdout) == EXPECTED_CPU["e4"]


def test_no_kernel_exits_no_kernel(tmp_path):
    (tmp_path / "csrc").mkdir()
    proc = cli("kernel-info", tmp_path)
    assert proc.returncode == EXIT_NO_KERNEL
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "no cuda RoPE kernel" in proc.stderr
    assert cli("kernel-info", ERAS_DIR / "e0", "--device", "cpu").returncode == EXIT_NO_KERNEL  # E0 has no CPU kernel


def test_unparseable_signature_exits_no_kernel(tmp_path):
    shutil.copytree(ERAS_DIR / "e3", tmp_path / "v")
    cu = tmp_path / "v" / KCU
    cu.write_text(cu.read_text().replace("bool is_neox) {", "bool is_neox, float scale) {"))
    proc = cli("kernel-info", tmp_path / "v")
    assert proc.returncode == EXIT_NO_KERNEL
    assert "unknown parameter 'scale'" in proc.stderr and "Traceback" not in proc.stderr
    cu.write_text(cu.read_text().replace("float scale", "MyType is_neox2"))
    assert cli("kernel-info", tmp_path / "v").returncode == EXIT_NO_KERNEL


def test_bad_path_is_one_line_exit_2(tmp_path):
    proc = cli("kernel-info", tmp_path / "missing")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_declarations_comments_and_batched_are_ignored():
    text = """
    // void rotary_embedding(int nope) {}
    /* void rotary_embedding(float also_nope) { } */
    void rotary_embedding(torch::Tensor& positions, torch::Tensor& query, torch::Tensor& key,
                          int64_t head_size, torch::Tensor& cos_sin_cache, bool is_neox);
    void batched_rotary_embedding(torch::Tensor& positions, torch::Tensor& query, torch::Tensor& key,
                          int64_t head_size, torch::Tensor& cos_sin_cache, bool is_neox,
                          int64_t rot_dim, torch::Tensor& offsets) { }
    void rotary_embedding(
        torch::Tensor &positions,   // [num_tokens]
        torch::Tensor &query,
        std::optional< torch::Tensor > key,
        int64_t head_size,
        torch::Tensor &cos_sin_cache,
        bool is_neox)
    {
    }
    """
    name, params = find_host_definition(text)
    assert name == "rotary_embedding"
    assert "std::optional" in params and "rot_dim" not in params


def test_include_closure_keeps_the_nearest_same_named_header():
    """E7's "torch_utils.h" is libtorch_stable/torch_utils.h, not csrc/torch_utils.h."""
    src = read_kernel(ERAS_DIR / "e7")
    assert "csrc/torch_utils.h" not in src.includes
    assert (ERAS_DIR / "e7" / "csrc" / "torch_utils.h").exists()


def test_unknown_device_is_a_user_error():
    with pytest.raises(RopeBenchError, match="unknown device 'rocm'; choose cuda or cpu") as exc:
        read_kernel(ERAS_DIR / "e3", "rocm")
    assert not isinstance(exc.value, NoKernel)


def test_a_git_tree_reads_like_the_checkout(tmp_path):
    """Every era committed to git and read without a checkout: the same traits, closure and source
    hash as the folder on disk (what makes ropebench plan's key the builder's)."""
    repo = tmp_path / "v"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    shas = {}
    for era in sorted(EXPECTED):
        shutil.rmtree(repo / "csrc", ignore_errors=True)
        shutil.copytree(ERAS_DIR / era / "csrc", repo / "csrc")
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", era], check=True)
        shas[era] = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                                   text=True).stdout.strip()
    with GitRepo(repo) as git_repo:
        for era, sha in shas.items():
            tree = git_repo.tree(sha)
            src = read_tree(tree)
            assert src.info() == EXPECTED[era], era
            assert source_hash(src) == source_hash(read_kernel(ERAS_DIR / era)), era
            if era in EXPECTED_CPU:
                assert read_tree(tree, "cpu").info() == EXPECTED_CPU[era]
        with pytest.raises(NoKernel):
            read_tree(git_repo.tree(shas["e0"]), "cpu")
