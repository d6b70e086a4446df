"""scripts/site_check.py on the toy project's real `asv publish` site, in headless Chromium."""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
import subprocess
import sys

import pytest

from . import toyasv
from .conftest import REPO

SCRIPT = REPO / "scripts" / "site_check.py"
spec = importlib.util.spec_from_file_location("site_check", SCRIPT)
site_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(site_check)

try:
    BROWSER = site_check.find_browser(None)
except site_check.CheckError:
    BROWSER = None
needs_browser = pytest.mark.skipif(BROWSER is None, reason="no Chromium/Chrome here (apt-get install chromium)")


@pytest.fixture(scope="session")
def toy_site(toy_run):
    conf, hashes, home = toy_run
    toyasv.asv(conf, "publish", home=home)
    return conf.parent / ".asv" / "html"


@pytest.fixture(scope="session")
def vendor(tmp_path_factory):
    """The CDN libraries from npm (this sandbox and CI have no internet, only package registries)."""
    if not shutil.which("npm"):
        pytest.skip("npm is needed to fetch asv's CDN libraries")
    try:
        return site_check.fetch_vendor(tmp_path_factory.mktemp("vendor"))
    except site_check.CheckError as exc:
        pytest.skip(f"cannot fetch the CDN libraries: {exc}")


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
@needs_browser
def test_toy_site_lists_benchmarks_and_draws_a_plot(toy_site, vendor, tmp_path):
    out = tmp_path / "shots"
    proc = _run(toy_site, "--out", out, "--vendor", vendor, "--expect", r"^toy\.", "--benchmark",
                "toy.Timing.time_work")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["listed"] == 5 and report["plot_points"] == 5  # five commits on the graph
    assert report["errors"] == []
    for name in ("index.png", "graph.png"):
        assert (out / name).stat().st_size > 10_000
    # Only the files without a byte-identical npm copy lose their integrity check.
    assert all("flot" in u or "stupidtable" in u for u in report["vendored_without_integrity"])


@pytest.mark.slow
@needs_browser
def test_broken_site_fails(toy_site, vendor, tmp_path):
    broken = tmp_path / "html"
    shutil.copytree(toy_site, broken)
    shutil.rmtree(broken / "graphs")  # the graph page then has nothing to draw and 404s
    proc = _run(broken, "--out", tmp_path / "shots", "--vendor", vendor, "--timeout", "5")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert not report["checks"]["graph_has_points"] and not report["checks"]["no_console_errors"]
    assert any("404" in e for e in report["errors"])


@pytest.mark.slow
@needs_browser
def test_default_benchmark_is_one_with_data(toy_site, vendor, tmp_path):
    """index.json lists the whole suite; the default graph is one that was run and matches --expect."""
    site = tmp_path / "html"
    shutil.copytree(toy_site, site)
    index = json.loads((site / "index.json").read_text())
    index["benchmarks"]["toy.aaa_never_run"] = dict(index["benchmarks"]["toy.track_value"])
    (site / "index.json").write_text(json.dumps(index))
    proc = _run(site, "--out", tmp_path / "shots", "--vendor", vendor, "--expect", "track")
    report = json.loads(proc.stdout)
    assert report["benchmark"] == "toy.track_value" and report["plot_points"] == 5, proc.stderr


def test_blank_screenshot_is_caught():
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(buf, format="PNG")
    assert not site_check.not_blank(site_check.image_stats(buf.getvalue()))


def test_bad_input_exit_2(tmp_path):
    proc = _run(tmp_path, "--chromium", sys.executable)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"site_check: error: {tmp_path} is not an asv html folder (no index.html/index.json; run asv publish)"]
