"""asv forks the suite's point processes (launch_method forkserver). That is safe only while the
benchmark modules and the helpers they import leave torch (and with it any CUDA state) out: the
measurement server, a process of its own, holds torch and the GPU."""

import json
import subprocess
import sys

from tests.conftest import REPO as ROOT


def test_the_suite_imports_no_torch():
    modules = sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py") if p.stem != "__init__")
    assert {"rope", "models", "accuracy", "common"} <= set(modules)
    code = (
        "import importlib, json, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        f"for m in {modules!r}: importlib.import_module('benchmarks.' + m)\n"
        "import ropebench.asvtools.suite, ropebench.asvtools.server\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'flashinfer', 'vllm'))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_kernel_mode_config_forks_the_points():
    text = (ROOT / "asv.conf.json").read_text()
    assert '"launch_method": "forkserver"' in text
