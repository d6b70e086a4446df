"""The backend registry is the only list: a fourth backend is one module and one registry line, and
then the CLI, the asv grids and params, fidelity's flags and the report all have it."""

import csv
import json
import subprocess
import sys
import textwrap

from ropebench.backends import NAMES
from tests.conftest import REPO

TOY = '''
from ropebench.backends.torch_native import TorchBackend


class ToyBackend(TorchBackend):
    name = "toy"
    label = "Toy RoPE"
'''

# Runs in a fresh interpreter: the registry line must come before ropebench.grid is imported, as it
# does for a backend listed in ropebench/backends/__init__.py.
PROBE = '''
import contextlib, io, json, sys
from ropebench import backends
backends.register("toy", "toy_rope", "ToyBackend")

from benchmarks.accuracy import RoPEAccuracy
from benchmarks.models import RoPEModels
from benchmarks.rope import RoPE
from ropebench import cli

out = {"asv": {c.__name__: c.params[c.param_names.index("backend")] for c in (RoPE, RoPEModels, RoPEAccuracy)}}
help_text = io.StringIO()
with contextlib.redirect_stdout(help_text), contextlib.suppress(SystemExit):
    cli.main(["fidelity", "--help"])
out["fidelity_help"] = help_text.getvalue()
table = io.StringIO()
with contextlib.redirect_stdout(table):
    out["run_rc"] = cli.main(["run", "--single", "--device", "cpu", "--backends", "toy,torch", "--batch-size", "1",
                              "--seq-len", "8", "--num-heads", "2", "--samples", "5", "--no-eager",
                              "--save-path", sys.argv[1]])
out["table"] = table.getvalue()
out["unknown_rc"] = cli.main(["run", "--single", "--device", "cpu", "--backends", "toy,nope"])
print(json.dumps(out))
'''


def test_a_registered_backend_reaches_the_cli_the_asv_params_and_the_report(tmp_path):
    (tmp_path / "toy_rope.py").write_text(textwrap.dedent(TOY))
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-c", PROBE, str(out)], capture_output=True, text=True, cwd=REPO,
                       env={"PYTHONPATH": f"{tmp_path}:{REPO}", "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
                       timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    got = json.loads(p.stdout.strip().splitlines()[-1])
    for cls, backends in got["asv"].items():
        assert backends == [*NAMES, "toy"], cls  # every asv grid's backend axis
    assert "toy" in got["fidelity_help"].split("--backends", 1)[1]
    assert got["run_rc"] == 0 and "toy" in got["table"]
    rows = {r["backend"]: r for r in csv.DictReader((out / "latest" / "rope.csv").open())}  # the run's own folder
    assert rows["toy"]["status"] == "ok" and rows["toy"]["correct"] == "True"
    assert got["unknown_rc"] == 2 and "unknown backend 'nope'; choose from " + ", ".join([*NAMES, "toy"]) in p.stderr


def test_the_registry_is_the_only_list():
    """Nothing else in the package or the suites names the backends."""
    listed = ", ".join(f'"{n}"' for n in NAMES)
    for path in [*REPO.glob("ropebench/**/*.py"), *REPO.glob("benchmarks/*.py"), *REPO.glob("tools/**/*.py")]:
        text = path.read_text()
        assert f"[{listed}]" not in text and f"({listed})" not in text, path
