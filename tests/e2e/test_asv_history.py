"""Real asv over a throwaway vLLM-shaped history, on the CPU (the builder's CPU-kernel path).

Four commits of fixture kernels: a base, an unrelated change, one whose kernel does not compile, and
one whose kernel is fx.SLOW_PASSES times slower. asv builds each through `ropebench build-kernel` (asv's own build
and install commands from asv.conf.json) and runs the suite through the measurement server. The grid is
kept small with asv's own selection (-b).
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from ropebench.asvtools.config import derived_conf
from tests.conftest import REPO as ROOT
from tests.era_fixtures import fixture_repo as fx

pytestmark = pytest.mark.slow


def _marked(stdout: str, marks=("+", "!")) -> list[str]:
    """Benchmarks asv's printed comparison table marks as worse ('+') or newly failing ('!'): what a user
    of `asv continuous` reads."""
    rows = []
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and cells and cells[0] in marks:
            rows.append(cells[-1])
    return rows

SELECT = [r"rope\.RoPE\.time_rope\('(torch|vllm)', 'neox', 1, 64, 32\)",
          r"accuracy\.RoPEAccuracy\.track_rel_l2_error\('vllm', 'neox', 'float32'\)"]
FACTOR = fx.CPU_FACTOR  # shared CPUs are noisy: see fixture_repo.SLOW_PASSES




def _git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def _commit(repo, message):
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", message)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("asv-e2e")
    repo = tmp / "vllm"
    base = fx.make_fixture_repo(repo, [(fx.CPU_ERA, 1)])[0]
    (repo / "README.md").write_text("an unrelated change\n")
    unrelated = _commit(repo, "unrelated: docs only")
    kernel = repo / fx.PASSES_FILE[fx.CPU_ERA]
    good = kernel.read_text()
    kernel.write_text(good.replace("{", "{ this does not compile;", 1))
    broken = _commit(repo, "broken kernel")
    kernel.write_text(good)
    fx.set_passes(repo, fx.SLOW_PASSES)
    slow = _commit(repo, f"slow kernel: every head rotated {fx.SLOW_PASSES} times")

    derived_conf(ROOT / "asv.conf.json", tmp / "asv.conf.json", repo=str(repo), branches=["main"],
                 env_dir=str(tmp / "env"), results_dir=str(tmp / "results"), html_dir=str(tmp / "html"))
    home = tmp / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), ROPEBENCH_CACHE=str(tmp / "kernel-cache"), ROPEBENCH_DEVICE="cpu")
    env.pop("ROPEBENCH_VLLM_OP", None)

    def run(*args, check_rc=None, timeout=1800):
        p = subprocess.run(args, cwd=tmp, env=env, capture_output=True, text=True, timeout=timeout)
        if check_rc is not None:
            assert p.returncode == check_rc, f"{args}: exit {p.returncode}\n{p.stdout[-4000:]}\n{p.stderr[-2000:]}"
        return p

    asv = [sys.executable, "-m", "asv"]
    run(sys.executable, "-m", "ropebench", "machine", "--machine", "ci", "--file", home / ".asv-machine.json",
        check_rc=0)
    return dict(tmp=tmp, repo=repo, run=run, asv=asv, base=base, unrelated=unrelated, broken=broken, slow=slow,
                select=sum((["-b", s] for s in SELECT), []))


def _results(tmp, sha):
    files = list((tmp / "results" / "ci").glob(f"{sha[:8]}-*.json"))
    assert len(files) == 1, files
    data = json.loads(files[0].read_text())
    out = {}
    for name, row in data["results"].items():
        cols = dict(zip(data["result_columns"], row))
        out[name] = cols["result"]
    return out


def test_asv_check_passes(history):
    h = history
    h["run"](*h["asv"], "check", check_rc=0)


def test_asv_run_over_history_builds_every_commit_and_records_the_broken_one_as_failed(history):
    h = history
    p = h["run"](*h["asv"], "run", "ALL", "--machine", "ci", "--record-samples", "--show-stderr", *h["select"])
    # A failed build makes asv exit 2, and the run still goes on to the next commit.
    assert p.returncode == 2, p.stdout[-4000:]
    assert "does not compile" in p.stdout or "error" in p.stdout.lower()
    timing = "rope.RoPE.time_rope"
    for sha in (h["base"], h["unrelated"], h["slow"]):
        values = [v for v in _results(h["tmp"], sha)[timing] if v is not None and v == v]
        assert len(values) == 2, (sha, values)  # torch and vllm, both measured
        assert all(0 < v < 0.1 for v in values)
    broken = _results(h["tmp"], h["broken"])
    # recorded as failed (null), not skipped (NaN)
    assert broken[timing] is None or all(v is None for v in broken[timing])
    base = _results(h["tmp"], h["base"])
    acc = [v for v in base["accuracy.RoPEAccuracy.track_rel_l2_error"] if v is not None and v == v]
    assert len(acc) == 1 and acc[0] < 1e-5


def test_asv_continuous_flags_the_slow_kernel_and_nothing_else(history):
    h = history
    p = h["run"](*h["asv"], "continuous", "--factor", FACTOR, "--machine", "ci", *h["select"], h["base"], h["slow"])
    assert p.returncode == 1, p.stdout[-4000:]
    flagged = _marked(p.stdout)
    assert "rope.RoPE.time_rope('vllm', 'neox', 1, 64, 32)" in flagged, p.stdout[-3000:]
    assert not any("'torch'" in row for row in flagged), flagged
    assert "PERFORMANCE DECREASED" in p.stdout


def test_asv_continuous_across_an_unrelated_change_flags_nothing(history):
    h = history
    p = h["run"](*h["asv"], "continuous", "--factor", FACTOR, "--machine", "ci", *h["select"], h["base"],
                 h["unrelated"])
    assert p.returncode == 0, p.stdout[-4000:]
    assert not _marked(p.stdout, ("+", "-", "!")), p.stdout[-3000:]


def test_ropebench_compare_on_the_history(history):
    h = history
    common = ["--results", h["tmp"] / "results", "--machine", "ci", "--factor", FACTOR]
    slow = h["run"](sys.executable, "-m", "ropebench", "compare", h["base"], h["slow"], *common)
    assert slow.returncode == 1 and "regressed" in slow.stdout.lower(), slow.stdout + slow.stderr
    same = h["run"](sys.executable, "-m", "ropebench", "compare", h["base"], h["unrelated"], *common)
    assert same.returncode == 0, same.stdout + same.stderr
    broken = h["run"](sys.executable, "-m", "ropebench", "compare", h["base"], h["broken"], *common)
    assert broken.returncode == 1 and "failed" in broken.stdout.lower()


def test_asv_publish_writes_the_site(history):
    h = history
    h["run"](*h["asv"], "publish", check_rc=0)
    html = h["tmp"] / "html"
    index = json.loads((html / "index.json").read_text())
    assert "rope.RoPE.time_rope" in index["benchmarks"]
    assert (html / "index.html").exists()
    graphs = list((html / "graphs").rglob("rope.RoPE.time_rope.json"))
    assert graphs
    keep = os.environ.get("ROPEBENCH_E2E_SITE")
    if keep:  # for the site screenshots (scripts/site_check.py)
        shutil.rmtree(keep, ignore_errors=True)
        shutil.copytree(html, keep)
