"""Suspects, the steps page's step finder and link, and the post-run sidecar writer (no asv run)."""

from __future__ import annotations

import json
import os
import time
import zipfile
from pathlib import Path

import pytest

from ropebench.asvtools import annotate, culprits, sidecar, steps
from tests.era_fixtures import fixture_repo as fx

BUILD = {"source_hash": "a" * 64, "torch": "2.13.0", "torch_cuda": "13.0", "cuda": "13.0.88", "arch": "9.0",
         "builder_version": "1", "abi": "stable", "python": "3.11.7", "device": "cuda", "built_at": "x"}


def _result(results: Path, machine: str, sha: str, build=None, versions=None) -> Path:
    path = results / machine / f"{sha[:8]}-env.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"commit_hash": sha, "env_name": "env"}))
    if build:
        sidecar.update(path, "build", build)
    if versions:
        sidecar.update(path, "versions", versions)
    return path


@pytest.fixture
def repo(tmp_path):
    r = tmp_path / "vllm"
    shas = fx.make_fixture_repo(r, [("e8", None)])
    (r / "README.md").write_text("x\n")
    fx._git(r, "add", "-A")
    fx._git(r, "commit", "-qm", "docs only")
    shas.append(fx._git(r, "rev-parse", "HEAD"))
    (r / "csrc/dispatch_utils.h").write_text((r / "csrc/dispatch_utils.h").read_text() + "// slower\n")
    fx._git(r, "add", "-A")
    fx._git(r, "commit", "-qm", "dispatch: a slower path")
    shas.append(fx._git(r, "rev-parse", "HEAD"))
    return r, shas


def test_suspects_name_the_kernel_commit_and_the_toolchain_difference(tmp_path, repo):
    r, (base, docs, culprit) = repo
    results = tmp_path / "results"
    _result(results, "gpu", base, BUILD, {"flashinfer-python": "0.7.2", "ropebench": "0.1.0"})
    _result(results, "gpu", culprit, dict(BUILD, torch="2.14.1", source_hash="b" * 64),
            {"flashinfer-python": "0.7.3", "ropebench": "0.1.0"})
    s = culprits.find(results, "gpu", base, culprit, repo_path=r)
    assert [c["commit"] for c in s.commits] == [culprit]
    assert s.toolchain == [("torch", "2.13.0", "2.14.1")]  # source_hash and built_at are not toolchain
    assert s.versions == [("flashinfer-python", "0.7.2", "0.7.3")]
    text = culprits.render_markdown(s)
    assert culprit[:12] in text and "dispatch: a slower path" in text and docs[:12] not in text
    assert "| torch | `2.13.0` | `2.14.1` |" in text


def test_suspects_say_what_they_could_not_check(tmp_path, repo):
    r, (base, _docs, culprit) = repo
    results = tmp_path / "results"
    _result(results, "gpu", base)
    _result(results, "gpu", culprit)
    s = culprits.find(results, "gpu", base, culprit, repo_path=None)
    assert not s.commits and not s.toolchain
    text = culprits.render_markdown(s)
    assert "toolchain not compared" in text and "not on disk" in text
    assert "the same on both sides" not in text  # unknown is not "the same"


@pytest.mark.parametrize("before,after", [(1.0, 2.0), (2.0, 1.0)])
def test_a_step_beyond_the_factor_is_found_where_it_is(before, after):
    values = [before * (1 + 0.002 * (i % 3)) for i in range(6)] + [after * (1 + 0.002 * (i % 3)) for i in range(6)]
    points = [(i, f"{i:040x}", v) for i, v in enumerate(values)]
    found = steps.steps_of(points, factor=1.05)
    assert len(found) == 1
    i, j, old, new = found[0]
    assert (i, j) == (5, 6)
    assert new / old == pytest.approx(after / before, rel=0.01)


def test_noise_and_small_steps_are_not_steps():
    noisy = [(i, str(i), 1.0 + 0.01 * ((i * 7) % 5)) for i in range(20)]
    assert steps.steps_of(noisy, factor=1.1) == []
    small = [(i, str(i), 1.0 if i < 10 else 1.03) for i in range(20)]
    assert steps.steps_of(small, factor=1.05) == []
    assert steps.steps_of(small[:1], factor=1.05) == []


def test_index_link_is_added_once(tmp_path):
    index = tmp_path / "index.html"
    index.write_text('<ul>\n\t<li id="nav-li-regressions"><a href="#/regressions">Regressions</a></li>\n</ul>')
    assert steps.link_from_index(tmp_path) and steps.link_from_index(tmp_path)
    text = index.read_text()
    assert text.count('href="steps.html"') == 1 and text.index("steps.html") < text.index("nav-li-regressions")
    index.write_text("<html>no navigation</html>")
    assert not steps.link_from_index(tmp_path)


def _wheel(env_dir: Path, commit: str, record: dict | None) -> Path:
    folder = env_dir / "abc123" / "asv-build-cache" / commit
    folder.mkdir(parents=True)
    wheel = folder / "ropebench_vllm_kernel-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("ropebench_vllm_kernel/__init__.py", "")
        if record is not None:
            z.writestr(annotate.BUILD_MEMBER, json.dumps(record))
    return wheel


def test_sidecar_command_writes_new_results_only_and_never_rewrites(tmp_path):
    results, env_dir = tmp_path / "results", tmp_path / "env"
    old = _result(results, "gpu", "1" * 40)
    os.utime(old, (time.time() - 100, time.time() - 100))
    stamp = tmp_path / "stamp"
    stamp.write_text("")
    os.utime(stamp, (time.time() - 50, time.time() - 50))
    new = _result(results, "gpu", "2" * 40)
    _wheel(env_dir, "2" * 40, BUILD)
    counts = annotate.annotate(results, env_dir, newer_than=stamp.stat().st_mtime)
    assert counts == {"results": 1, "versions_written": 1, "build_written": 1, "build_missing": 0}
    assert sidecar.read(old) == {}  # restored before the run: not this run's versions
    assert sidecar.read(new)["build"] == BUILD and sidecar.read(new)["versions"] == sidecar.versions()
    sidecar.update(new, "versions", {"ropebench": "earlier"})
    annotate.annotate(results, env_dir, newer_than=stamp.stat().st_mtime)
    assert sidecar.read(new)["versions"] == {"ropebench": "earlier"}


def test_a_wheel_without_a_build_record_is_no_record(tmp_path):
    _wheel(tmp_path, "3" * 40, None)
    assert annotate.wheel_build_record(tmp_path, "3" * 40) is None
    assert annotate.wheel_build_record(tmp_path, "4" * 40) is None


def test_commands_without_their_inputs_say_so_in_one_line(tmp_path, cli):
    (tmp_path / "results").mkdir()
    for args in (["steps", "--results", tmp_path / "results", "--html", tmp_path / "no-site"],
                 ["steps", "--results", tmp_path / "results"],
                 ["sidecar", "--results", tmp_path / "missing"],
                 ["steps", "--factor", "0.9", "--html", tmp_path]):
        proc = cli(*args, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr


def test_after_health_attach_the_build_record_is_still_added(tmp_path):
    """The history workflow's chunks already put versions into each sidecar (ropebench health --attach);
    the default mode and --all still add the build record, from a shard's env folder too."""
    results, env = tmp_path / "results", tmp_path / "env"
    fresh = _result(results, "gpu", "5" * 40, versions={"ropebench": "from-health"})
    _wheel(tmp_path / "env-shard-1", "5" * 40, BUILD)
    counts = annotate.annotate(results, annotate.env_dirs_of(env), newer_than=None)
    assert counts["build_written"] == 1 and counts["versions_written"] == 0
    assert sidecar.read(fresh)["versions"] == {"ropebench": "from-health"}
    old = _result(results, "gpu", "6" * 40, versions={"ropebench": "x"})
    os.utime(old, (time.time() - 3 * 86400, time.time() - 3 * 86400))
    _wheel(env, "6" * 40, BUILD)
    assert annotate.annotate(results, [env], newer_than=None)["results"] == 0  # old: not this run's
    assert annotate.annotate(results, [env], newer_than=None, every=True)["build_written"] == 1
