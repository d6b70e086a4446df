"""Real asv over a fixture history through the plan, on the CPU kernel.

Five commits: the base kernel, a README edit, an edit of the bindings (outside the kernel's closure),
the kernel made fx.SLOW_PASSES times slower, another README edit. `ropebench plan --device cpu` over asv's own
repository picks the base, the slow kernel and the newest commit; `asv run HASHFILE:` measures exactly
those; `ropebench sidecar` records versions and build records; `ropebench compare` base->newest regresses
and names the slow commit, and only it, as the suspect; `ropebench steps` puts the step on the site.
"""

import json
import os
import subprocess
import sys

import pytest

from ropebench.asvtools.config import derived_conf
from tests.conftest import REPO as ROOT
from tests.era_fixtures import fixture_repo as fx

pytestmark = pytest.mark.slow

SELECT = [r"rope\.RoPE\.time_rope\('(torch|vllm)', 'neox', 1, 64, 32\)"]
FACTOR = fx.CPU_FACTOR  # shared CPUs are noisy: see fixture_repo.SLOW_PASSES




@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("asv-plan")
    repo = tmp / "vllm"
    shas = {"base": fx.make_fixture_repo(repo, [(fx.CPU_ERA, 1)])[0]}

    def commit(name):
        fx._git(repo, "add", "-A")
        fx._git(repo, "commit", "-qm", name)
        shas[name] = fx._git(repo, "rev-parse", "HEAD")

    (repo / "README.md").write_text("docs\n")
    commit("readme")
    bindings = repo / "csrc/libtorch_stable/torch_bindings.cpp"
    bindings.write_text(bindings.read_text() + "\n// another op\n")
    commit("bindings")
    fx.set_passes(repo, fx.SLOW_PASSES)
    commit("slow kernel")
    (repo / "README.md").write_text("more docs\n")
    commit("newest")

    derived_conf(ROOT / "asv.conf.json", tmp / "asv.conf.json", repo=str(repo), branches=["main"],
                 env_dir=str(tmp / "env"), results_dir=str(tmp / "results"), html_dir=str(tmp / "html"),
                 show_commit_url="https://example.invalid/commit/")
    home = tmp / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), ROPEBENCH_CACHE=str(tmp / "kernel-cache"), ROPEBENCH_DEVICE="cpu")
    env.pop("ROPEBENCH_VLLM_OP", None)

    def run(*args, check_rc=0, timeout=1800):
        p = subprocess.run([str(a) for a in args], cwd=tmp, env=env, capture_output=True, text=True,
                           timeout=timeout)
        if check_rc is not None:
            assert p.returncode == check_rc, f"{args}: exit {p.returncode}\n{p.stdout[-4000:]}\n{p.stderr[-3000:]}"
        return p

    rb = [sys.executable, "-m", "ropebench"]
    run(*rb, "machine", "--machine", "ci", "--file", home / ".asv-machine.json")
    plan = run(*rb, "plan", "main", "--device", "cpu", "--out", tmp / "plan.txt")
    stamp = tmp / "before-run.stamp"
    stamp.write_text("")
    select = sum((["-b", s] for s in SELECT), [])
    asv = run(sys.executable, "-m", "asv", "run", f"HASHFILE:{tmp / 'plan.txt'}", "--machine", "ci",
              "--record-samples", "--show-stderr", *select)
    run(*rb, "sidecar", "--newer-than", stamp)
    return dict(tmp=tmp, repo=repo, shas=shas, run=run, rb=rb, plan=json.loads(plan.stdout), asv=asv)


def test_plan_selects_the_kernel_changes_and_the_newest(planned):
    p = planned
    selected = {e["commit"]: e["reasons"] for e in p["plan"]["selected"]}
    assert selected == {p["shas"]["newest"]: ["newest"], p["shas"]["slow kernel"]: ["kernel-changed"],
                        p["shas"]["base"]: ["kernel-changed"]}
    assert (p["tmp"] / "plan.txt").read_text().split() == list(selected)


def test_asv_measures_only_the_planned_commits(planned):
    p = planned
    measured = {f.name.split("-")[0] for f in (p["tmp"] / "results" / "ci").glob("*.json") if f.name != "machine.json"}
    assert measured == {p["shas"][n][:8] for n in ("base", "slow kernel", "newest")}


def test_sidecars_hold_versions_and_the_builders_key_equals_the_plans(planned):
    p = planned
    keys = {e["commit"]: e["key"] for e in p["plan"]["selected"]}
    for sha, key in keys.items():
        side = json.loads(next((p["tmp"] / "results" / "ci").glob(f"{sha[:8]}-*.sidecar")).read_text())
        assert side["versions"]["ropebench"] and "flashinfer-python" in side["versions"]
        assert side["build"]["source_hash"] == key  # build-kernel's recorded hash is plan's key
        assert side["build"]["commit"] == sha


def test_compare_names_the_slow_commit_as_the_only_suspect(planned):
    p = planned
    cmp = p["run"](*p["rb"], "compare", p["shas"]["base"], p["shas"]["newest"], "--machine", "ci",
                   "--factor", FACTOR, check_rc=1)
    text = cmp.stdout
    assert "Suspects" in text, text
    suspects = text[text.index("Suspects"):]
    assert p["shas"]["slow kernel"][:12] in suspects and "slow kernel" in suspects
    for other in ("readme", "bindings", "newest"):
        assert p["shas"][other][:12] not in suspects
    assert "Toolchain and package versions: the same on both sides." in suspects


def test_steps_page_shows_the_step_and_is_linked(planned):
    p = planned
    p["run"](sys.executable, "-m", "asv", "publish")
    out = p["run"](*p["rb"], "steps", "--factor", FACTOR)
    assert json.loads(out.stdout)["steps"] >= 1
    page = (p["tmp"] / "html" / "steps.html").read_text()
    assert "time_rope" in page and "backend=vllm" in page
    assert p["shas"]["slow kernel"][:8] in page and "Kernel changed in" in page
    # (the torch control is not asserted steady: on a shared CPU it drifts too, which is what controls show)
    assert 'href="steps.html"' in (p["tmp"] / "html" / "index.html").read_text()
    p["run"](*p["rb"], "steps", "--factor", FACTOR)  # again: one link, not two
    assert (p["tmp"] / "html" / "index.html").read_text().count('href="steps.html"') == 1
