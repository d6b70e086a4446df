"""kernel-info on every era fixture: traits, include closures, schemas; and its failure modes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from ropebench.errors import EXIT_NO_KERNEL, RopeBenchError
from ropebench.kernels.builder import source_hash
from ropebench.kernels.gittree import GitRepo
from ropebench.kernels.source import CheckoutTree, NoKernel, find_host_definition, read_kernel, read_tree

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


# ---- small trees of our own, in an era's shape -----------------------------------------------------
SIG = ("torch::Tensor& positions, torch::Tensor& query, torch::Tensor& key, int64_t head_size, "
       "torch::Tensor& cos_sin_cache, bool is_neox")
STABLE_KCU = "csrc/libtorch_stable/pos_encoding_kernels.cu"


def checkout(root, files):
    """A checkout on disk holding ``files`` ({relative path: text})."""
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def kernel_text(params=SIG, includes=(), before="", after=" {\n}\n"):
    """A kernel file: quoted includes, then a rotary_embedding host definition with ``params``."""
    lines = "".join(f'#include "{inc}"\n' for inc in includes)
    return f"{lines}{before}void rotary_embedding({params}){after}"


def no_kernel_message(tmp_path, params):
    root = checkout(tmp_path / "v", {KCU: kernel_text(params)})
    with pytest.raises(NoKernel) as exc:
        read_kernel(root)
    return str(exc.value)


def test_checkout_tree_refuses_paths_that_leave_the_top(tmp_path):
    """Bug caught: a path escaping the checkout ("../", "csrc/../../", absolute) read as part of the tree:
    build-kernel would copy and hash a file from outside the vLLM checkout."""
    (tmp_path / "secret.h").write_text("int secret;\n")
    root = checkout(tmp_path / "v", {"csrc/a.h": "int a;\n"})
    tree = CheckoutTree(root)
    assert tree.is_file("csrc/a.h") and tree.read_bytes("csrc/a.h") == b"int a;\n"
    assert (root / "../secret.h").is_file()  # the files are there: only the tree refuses them
    for rel in ("../secret.h", "csrc/../../secret.h", str(tmp_path / "secret.h"), ".."):
        assert not tree.is_file(rel), rel
        with pytest.raises(FileNotFoundError, match=re.escape(rel)):
            tree.read_bytes(rel)


def test_an_include_that_leaves_the_checkout_is_not_in_the_closure(tmp_path):
    """Bug caught: `#include "../../x.h"` or an absolute quoted include pulled into the build's copy
    and source hash, a file that is no part of the commit."""
    (tmp_path / "secret.h").write_text("int secret;\n")
    root = checkout(tmp_path / "v", {
        KCU: kernel_text(includes=("../../secret.h", str(tmp_path / "secret.h"), "ok.h")),
        "csrc/ok.h": "int ok;\n",
    })
    assert read_kernel(root).includes == ("csrc/ok.h",)


def test_angle_includes_and_missing_headers_are_not_vllm_files(tmp_path):
    """Bug caught: `#include <x.h>` treated as a vLLM header (it is the system's or torch's, even where
    csrc/ has a file of that name), or a quoted include that resolves nowhere failing the read."""
    root = checkout(tmp_path / "v", {
        KCU: kernel_text(includes=("torch/all.h", "core/nested.h")) + "#include <dispatch_utils.h>\n",
        "csrc/dispatch_utils.h": "int d;\n",
        "csrc/core/nested.h": "#include <cuda_compat.h>\n",
        "csrc/cuda_compat.h": "int c;\n",
    })
    assert read_kernel(root).includes == ("csrc/core/nested.h",)


def test_include_cycles_end_and_list_each_header_once(tmp_path):
    """Bug caught: headers that include each other (or the kernel back) looping forever, listed twice,
    or the kernel listed among its own includes (it would be copied and hashed twice)."""
    root = checkout(tmp_path / "v", {
        KCU: kernel_text(includes=("a.h", "b.h")),
        "csrc/a.h": '#include "b.h"\n#include "c.h"\n',
        "csrc/b.h": '#include "a.h"\n#include "c.h"\n#include "pos_encoding_kernels.cu"\n',
        "csrc/c.h": '#include "a.h"\n',
    })
    src = read_kernel(root)
    assert src.includes == ("csrc/a.h", "csrc/b.h", "csrc/c.h")
    assert src.files == (KCU, "csrc/a.h", "csrc/b.h", "csrc/c.h")


def test_only_real_include_directives_count(tmp_path):
    """Bug caught: an include in a comment, or behind a comment that began after code on an earlier
    line (the preprocessor reads that as one line: no directive), copied into the build; or a directive
    written with spaces (`  #  include`) or after a comment at the start of a line missed."""
    before = ('// #include "commented.h"\n'
              '/* #include "blocked.h" */\n'
              'int x; /* a comment that goes on\n'
              '   to the next line */ #include "behind.h"\n'
              '  #  include "spaced.h"\n'
              '/* licence\n */ #include "after_comment.h"\n')
    names = ("commented.h", "blocked.h", "behind.h", "spaced.h", "after_comment.h")
    root = checkout(tmp_path / "v", {KCU: kernel_text(before=before),
                                     **{f"csrc/{n}": "int h;\n" for n in names}})
    assert read_kernel(root).includes == ("csrc/after_comment.h", "csrc/spaced.h")


def test_a_signature_as_clang_format_writes_it(tmp_path):
    """Bug caught: the parser tied to one way of writing a signature: a name on the line after its type,
    spaces inside `std::optional< torch::Tensor >` and before `&`, `const` scalars, a comment between
    type and name, defaults (with parentheses and commas' neighbours) and `){` read wrong, so a real
    kernel exits "no kernel" or gets a wrong schema."""
    params = ("\n    torch::Tensor &\n        positions,\n    torch::Tensor &query,\n"
              "    std::optional< torch::Tensor > key,\n    const int64_t head_size,\n"
              "    torch::Tensor& cos_sin_cache,\n    bool/*neox?*/is_neox,\n"
              "    int64_t rope_dim_offset = (MAX_OFFSET),\n    bool inverse = false")
    root = checkout(tmp_path / "v", {KCU: kernel_text(params, after="{\n}\n")})
    info = read_kernel(root).info()
    assert info["key_optional"] is True and info["head_size_type"] == "int64_t"
    assert info["rope_dim_offset"] is True and info["inverse"] is True
    assert info["schema"] == S_EXTRAS


def test_a_file_cut_off_inside_the_signature_is_no_kernel(tmp_path):
    """Bug caught: a kernel file that ends inside the parameter list crashing the reader (an index past
    the end) instead of exiting "no kernel"."""
    assert find_host_definition("void rotary_embedding(torch::Tensor& positions, ") is None
    root = checkout(tmp_path / "v", {KCU: "void rotary_embedding(torch::Tensor& positions"})
    with pytest.raises(NoKernel, match="no cuda RoPE kernel"):
        read_kernel(root)


@pytest.mark.parametrize(("params", "message"), [
    (SIG + ", float Scale", "unknown parameter 'Scale' (float) of rotary_embedding in " + KCU),
    (SIG.replace("torch::Tensor& positions", "const float * positions"),
     "unsupported type 'const float*' of parameter 'positions' of rotary_embedding in " + KCU),
    (SIG.replace("torch::Tensor& positions", "std::tuple<int, std::vector<int>> positions"),
     "unsupported type 'std::tuple<int,std::vector<int>>' of parameter 'positions' of rotary_embedding in "
     + KCU),
    (SIG.replace("torch::Tensor& key", "int64_t key"),
     f"parameter 'key' of rotary_embedding in {KCU} is int64_t, expected a Tensor"),
    ("torch::Tensor& positions, torch::Tensor& query, torch::Tensor& key, bool is_neox",
     f"rotary_embedding in {KCU} lacks parameter(s) head_size, cos_sin_cache"),
    ("\n    ", f"rotary_embedding in {KCU} lacks parameter(s) positions, query, key, head_size, cos_sin_cache"),
    (SIG + ", bool is_neox", f"rotary_embedding in {KCU} repeats a parameter name"),
    (SIG.replace("torch::Tensor& positions", "torch::stable::Tensor& positions"),
     f"rotary_embedding in {KCU} mixes torch::Tensor and torch::stable::Tensor"),
    (SIG.replace("bool is_neox", "bool /* is_neox */"),
     f"cannot parse parameter 'bool' of rotary_embedding in {KCU}"),
    (SIG.replace("torch::Tensor& cos_sin_cache", "const torch::Tensor&  /* cos_sin_cache */"),
     f"cannot parse parameter 'const torch::Tensor&' of rotary_embedding in {KCU}"),
])
def test_an_unreadable_signature_says_what_is_wrong(tmp_path, params, message):
    """Bug caught: a NoKernel message that does not name the parameter, its type or what is missing (or
    a crash instead of NoKernel): the user is left to diff vLLM's kernel against a parser."""
    assert no_kernel_message(tmp_path, params) == message


def test_no_kernel_names_the_checkout_and_every_place_looked(tmp_path):
    """Bug caught: "no kernel" without where it looked: the user cannot tell a wrong checkout from a
    layout this version does not know."""
    (tmp_path / "csrc").mkdir()
    with pytest.raises(NoKernel) as exc:
        read_kernel(tmp_path)
    assert str(exc.value) == (
        f"no cuda RoPE kernel in {tmp_path} (looked for a host definition of rotary_embedding or "
        "rotary_embedding_neox in csrc/libtorch_stable/pos_encoding_kernels.cu, csrc/pos_encoding_kernels.cu)")
    with pytest.raises(NoKernel) as exc:
        read_tree(CheckoutTree(tmp_path), "cpu")
    assert str(exc.value) == (
        "no cpu RoPE kernel in the tree (looked for a host definition of rotary_embedding or "
        "rotary_embedding_neox in csrc/libtorch_stable/cpu/pos_encoding.cpp, csrc/cpu/pos_encoding.cpp)")


def test_a_missing_checkout_is_a_user_error_naming_it(tmp_path):
    with pytest.raises(RopeBenchError, match=re.escape(f"not a folder: {tmp_path / 'missing'}")) as exc:
        read_kernel(tmp_path / "missing")
    assert not isinstance(exc.value, NoKernel)


def test_a_newer_layout_file_without_the_definition_falls_back_to_the_older_one(tmp_path):
    """Bug caught: era resolution stopping at the first kernel path that exists: mid-migration, the
    libtorch_stable file holds only a declaration (or another op), and the kernel is still the old one."""
    root = checkout(tmp_path / "v", {
        STABLE_KCU: kernel_text(after=";\n") + "void batched_rotary_embedding(" + SIG + ") {}\n",
        KCU: kernel_text(),
    })
    src = read_kernel(root)
    assert src.kernel == KCU and src.includes == ()
    both = checkout(tmp_path / "w", {STABLE_KCU: kernel_text(), KCU: kernel_text()})
    assert read_kernel(both).kernel == STABLE_KCU  # where both define it, the newer layout wins


def test_the_source_records_its_checkout_and_device():
    """Bug caught: the checkout (where build-kernel copies from) or the device (CUDA or C++ build, and
    part of the source hash) lost on the way out of the reader."""
    src = read_kernel(ERAS_DIR / "e4", "cpu")
    assert src.root == ERAS_DIR / "e4" and src.device == "cpu"
    assert read_kernel(ERAS_DIR / "e4").device == "cuda"
