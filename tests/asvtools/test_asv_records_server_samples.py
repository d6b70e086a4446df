"""Real asv over the real suite on the CPU: the samples asv records for a point are exactly the
measurement server's, in order. The replay clock depends on asv_runner's sampling loop (number=1,
setup before every sample); if an asv_runner release changed it, this fails instead of the numbers
changing silently."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ropebench.asvtools.config import derived_conf
from ropebench.asvtools.server import SAMPLES_LOG_ENV
from tests.conftest import REPO

pytestmark = pytest.mark.slow

POINT = dict(backend="torch", style="neox", batch=1, seq_len=64, heads=32)


def test_asv_records_exactly_the_servers_samples_in_order(tmp_path):
    sys.path.insert(0, str(REPO))
    from benchmarks.rope import RoPE
    from ropebench.asvtools.suite import selection

    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    conf = derived_conf(REPO / "asv.conf.json", tmp_path / "asv.conf.json", repo=str(REPO),
                        results_dir=str(tmp_path / "results"), env_dir=str(tmp_path / "env"),
                        html_dir=str(tmp_path / "html"))
    log = tmp_path / "samples.jsonl"
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), ROPEBENCH_DEVICE="cpu", **{SAMPLES_LOG_ENV: str(log)})
    env.pop("ROPEBENCH_VLLM_OP", None)

    def asv(*args):
        p = subprocess.run([sys.executable, "-m", "asv", *args, "--config", str(conf)], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, f"asv {args[0]}: exit {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-2000:]}"

    asv("machine", "--yes", "--machine", "cpubox")
    # The running interpreter as asv's environment: no build, the suite and ropebench as they are here.
    asv("run", "--environment", f"existing:{sys.executable}", "--set-commit-hash", head, "--record-samples",
        "--machine", "cpubox", "-b", selection(RoPE, "time_rope", [POINT]))

    served = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(served) == 1 and served[0]["backend"] == "torch"
    from asv.results import iter_results_for_machine_and_hash

    [results] = list(iter_results_for_machine_and_hash(str(tmp_path / "results"), "cpubox", head[:8]))
    key = "rope.RoPE.time_rope"
    params = [[repr(POINT[n])] for n in RoPE.param_names]
    [recorded] = results.get_result_samples(key, params)
    assert recorded == served[0]["samples_s"]  # bit for bit, in order
    assert len(recorded) >= 5
