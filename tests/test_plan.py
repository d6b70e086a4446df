"""ropebench plan on fixture histories: which commits the kernel's build inputs changed in."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ropebench.kernels.builder import source_hash
from ropebench.kernels.gittree import GitRepo
from ropebench.kernels.source import read_kernel
from ropebench.plan import KeyReader, plan
from tests.era_fixtures import fixture_repo as fx


class History:
    """A git repo grown one named commit at a time."""

    def __init__(self, path: Path):
        self.path = path
        subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
        self.shas: dict[str, str] = {}

    def commit(self, name: str) -> str:
        fx._git(self.path, "add", "-A")
        fx._git(self.path, "commit", "-q", "--allow-empty", "-m", name)
        self.shas[name] = fx._git(self.path, "rev-parse", "HEAD")
        return self.shas[name]

    def edit(self, rel: str, append: str) -> None:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text((p.read_text() if p.exists() else "") + append)

    def era(self, era: str) -> None:
        fx.copy_era(era, self.path)


def selected(result) -> dict[str, list[str]]:
    return {sha: e["reasons"] for sha, e in result.selected.items()}


@pytest.fixture
def history(tmp_path):
    """Every kind of edit, each in its own commit, over a legacy era and a move to the stable one."""
    h = History(tmp_path / "vllm")
    h.edit("README.md", "vLLM-shaped fixture\n")
    h.commit("no-kernel-yet")
    h.era("e3")
    h.commit("e3")
    h.edit("README.md", "more words\n")
    h.commit("readme")
    h.edit("csrc/torch_bindings.cpp", "// another op registered\n")
    h.commit("bindings")
    h.edit("csrc/other_kernel.cu", "__global__ void other() {}\n")
    h.commit("other-kernel")
    h.edit("csrc/ops.h", "// a declaration\n")  # in csrc/, not included by the kernel
    h.commit("ops-header")
    h.edit("csrc/pos_encoding_kernels.cu", "// kernel edit\n")
    h.commit("kernel-edit")
    h.edit("csrc/dispatch_utils.h", "// header in the closure\n")
    h.commit("closure-header")
    h.edit("csrc/cuda_compat.h", "// the other header in the closure\n")
    h.commit("closure-header-2")
    h.era("e7")  # the kernel moves to csrc/libtorch_stable/
    h.commit("era-move")
    h.edit("csrc/pos_encoding_kernels.cu", "// the old path, no longer the kernel\n")
    h.commit("stale-old-path")
    h.edit("csrc/libtorch_stable/torch_bindings.cpp", "// stable bindings\n")
    h.commit("stable-bindings")
    h.edit("csrc/cuda_compat.h", "// reached through ../cuda_compat.h\n")
    h.commit("parent-dir-header")
    h.edit("docs/notes.md", "words\n")
    h.commit("newest-docs")
    return h


CHANGED = ["e3", "kernel-edit", "closure-header", "closure-header-2", "era-move", "parent-dir-header"]


def test_kernel_closure_edits_and_era_moves_are_selected_nothing_else(history):
    h = history
    result = plan(h.path, "main")
    names = {sha: name for name, sha in h.shas.items()}
    changed = [names[s] for s, r in selected(result).items() if "kernel-changed" in r]
    assert changed == CHANGED
    assert selected(result)[h.shas["newest-docs"]] == ["newest"]
    assert set(selected(result)) == {h.shas[n] for n in CHANGED} | {h.shas["newest-docs"]}
    assert result.walked == len(h.shas)
    assert result.no_kernel == 1
    assert len(result.keys) == len(CHANGED)


def test_hash_file_order_and_range_relative_to_its_base(history, tmp_path):
    h = history
    # From "readme" on: its parent e3 is outside the range, so readme is not a change.
    result = plan(h.path, f"{h.shas['e3']}..main")
    assert h.shas["e3"] not in result.selected and h.shas["readme"] not in result.selected
    order = list(h.shas.values())
    hashes = result.hashes
    assert hashes == sorted(hashes, key=order.index, reverse=True)  # newest first, as asv lists a range


def test_key_is_the_builders_source_hash_of_a_checkout_of_the_same_commit(history, tmp_path):
    h = history
    with GitRepo(h.path) as repo:
        keys = KeyReader(repo)
        for name in ("e3", "closure-header", "era-move", "parent-dir-header"):
            checkout = tmp_path / name
            fx._git(h.path, "worktree", "add", "-q", "--detach", str(checkout), h.shas[name])
            assert keys.key(h.shas[name]) == source_hash(read_kernel(checkout))


def test_first_kernel_after_none_and_a_removed_kernel(tmp_path):
    h = History(tmp_path / "v")
    h.edit("csrc/other.cu", "// no rope here\n")
    h.commit("no-kernel")
    h.era("e8")
    h.commit("kernel-arrives")
    shutil.rmtree(h.path / "csrc")
    h.edit("csrc/other.cu", "// rope gone\n")
    h.commit("kernel-gone")
    h.era("e8")
    h.commit("kernel-back")
    h.edit("README.md", "x\n")
    h.commit("tail")
    result = plan(h.path, "main")
    assert selected(result) == {h.shas["kernel-arrives"]: ["kernel-changed"],
                                h.shas["kernel-back"]: ["kernel-changed"], h.shas["tail"]: ["newest"]}
    assert result.no_kernel == 2


def test_controls_every_nth_commit_with_a_kernel(history):
    h = history
    result = plan(h.path, "main", every=4)
    order = list(h.shas)
    controls = [order[list(h.shas.values()).index(s)] for s, r in selected(result).items() if "control" in r]
    assert controls == [order[i] for i in (3, 7, 11)]  # the 4th, 8th, 12th commits (all have kernels)
    assert selected(result)[h.shas["closure-header"]] == ["kernel-changed", "control"]


def test_cpu_device_follows_the_cpu_kernel(tmp_path):
    h = History(tmp_path / "v")
    fx.copy_era("e7", h.path, passes=1)
    h.commit("base")
    fx.set_passes(h.path, 2)
    h.commit("slow-cpu")
    h.edit("csrc/libtorch_stable/pos_encoding_kernels.cu", "// cuda only\n")
    h.commit("cuda-edit")
    h.edit("README.md", "x\n")
    h.commit("tail")
    cpu = plan(h.path, "main", device="cpu")
    assert [s for s, r in selected(cpu).items() if "kernel-changed" in r] == [h.shas["base"], h.shas["slow-cpu"]]
    cuda = plan(h.path, "main", device="cuda")
    assert [s for s, r in selected(cuda).items() if "kernel-changed" in r] == [h.shas["base"], h.shas["cuda-edit"]]


def test_each_blob_is_read_once(history):
    h = history
    blobs = set()
    for sha in h.shas.values():
        listing = fx._git(h.path, "ls-tree", "-r", sha, "--", "csrc")
        blobs |= {line.split()[2] for line in listing.splitlines()}
    with GitRepo(h.path) as repo:
        for sha in h.shas.values():
            assert KeyReader(repo).key(sha) is not None or sha == h.shas["no-kernel-yet"]  # no memo: all resolved
        first = repo.blob_reads
        assert 0 < first <= len(blobs)
        for sha in h.shas.values():
            KeyReader(repo).key(sha)
        assert repo.blob_reads == first


# ---------------------------------------------------------------- CLI


def test_cli_writes_asv_hashfile_and_a_json_summary(history, tmp_path, cli):
    h = history
    out = tmp_path / "plan" / "hashes.txt"
    proc = cli("plan", h.path, "main", "--out", out, "--every", "5", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = out.read_text().splitlines()
    assert all(re.fullmatch(r"[0-9a-f]{40}", line) for line in lines)
    summary = json.loads(proc.stdout)
    assert [e["commit"] for e in summary["selected"]] == lines
    assert summary["commits_walked"] == len(h.shas) and summary["commits_without_kernel"] == 1
    assert summary["reasons"] == {"kernel-changed": len(CHANGED), "newest": 1, "control": 2}


@pytest.mark.parametrize("args", [["main~99..main"], ["nosuchbranch"], ["--", "-x"]])
def test_bad_range_is_one_line_exit_2(history, tmp_path, cli, args):
    proc = cli("plan", history.path, *args, "--out", tmp_path / "h.txt", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "h.txt").exists()


def test_not_a_repository_is_one_line_exit_2(tmp_path, cli):
    (tmp_path / "plain").mkdir()
    for repo in (tmp_path / "plain", tmp_path / "missing"):
        proc = cli("plan", repo, "main", "--out", tmp_path / "h.txt", cwd=tmp_path)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def _asv_conf(folder: Path, repo: Path) -> Path:
    conf = folder / "asv.conf.json"
    conf.write_text(json.dumps({"version": 1, "project": "vllm", "repo": str(repo), "branches": ["main"],
                                "environment_type": "virtualenv"}))
    return conf


def test_a_commit_asv_cannot_see_is_an_error(history, tmp_path, cli):
    h = history
    ahead = tmp_path / "ahead"
    subprocess.run(["git", "clone", "-q", str(h.path), str(ahead)], check=True)
    fx.copy_era("e8", ahead)
    fx._git(ahead, "add", "-A")
    fx._git(ahead, "commit", "-qm", "not pushed")
    conf = _asv_conf(tmp_path, h.path)  # asv benchmarks the original, which lacks that commit
    proc = cli("plan", ahead, "main", "--out", tmp_path / "h.txt", "--conf", conf, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "not in asv's clone" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "h.txt").exists()
    # Without REPO, plan reads asv's own repository, so everything it selects asv can see.
    proc = cli("plan", "main", "--out", tmp_path / "h.txt", "--conf", conf, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["repo"] == str(h.path)


def test_no_repo_and_no_asv_config_is_an_error(tmp_path, cli):
    proc = cli("plan", "main", "--out", tmp_path / "h.txt", cwd=tmp_path)
    assert proc.returncode == 2 and "no asv config" in proc.stderr


def test_without_repo_plan_clones_and_fetches_asvs_mirror(history, tmp_path, cli):
    """asv mirrors a remote repo beside its config (<project>/); plan reads that mirror, cloning it as asv
    would, and --fetch brings it up to date first."""
    h = history
    work = tmp_path / "work"
    work.mkdir()
    conf = work / "asv.conf.json"
    conf.write_text(json.dumps({"version": 1, "project": "vllm", "repo": f"file://{h.path}", "branches": ["main"],
                                "environment_type": "virtualenv"}))
    first = cli("plan", "main", "--out", work / "h.txt", cwd=work)
    assert first.returncode == 0, first.stderr
    assert Path(json.loads(first.stdout)["repo"]) == work / "vllm"  # asv's mirror, not the remote
    h.era("e8")
    new = h.commit("upstream-e8")
    stale = cli("plan", "main", "--out", work / "h.txt", cwd=work)
    assert new not in (work / "h.txt").read_text()
    fetched = cli("plan", "main", "--fetch", "--out", work / "h.txt", cwd=work)
    assert fetched.returncode == 0 and stale.returncode == 0, fetched.stderr
    assert (work / "h.txt").read_text().split()[0] == new


def test_every_must_be_positive(history, tmp_path, cli):
    proc = cli("plan", history.path, "main", "--every", "0", "--out", tmp_path / "h.txt", cwd=tmp_path)
    assert proc.returncode == 2 and "--every" in proc.stderr


def test_long_walks_report_progress_on_stderr(history, capsys, monkeypatch):
    import ropebench.plan as plan_module

    monkeypatch.setattr(plan_module._Progress, "EVERY_S", 0.0)  # a line per commit
    plan(history.path, "main")
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1] == f"ropebench plan: {len(history.shas)}/{len(history.shas)} commits, {len(CHANGED)} kernel " \
                        "changes so far"
