"""A throwaway git project and asv suite, so tests read results that REAL asv runs wrote.

No GPU, torch or network: the "project" is a git repo holding state.json, whose fields set how
slow each benchmark is, whether one raises and whether one skips. asv checks each commit out and
the install command copies state.json into the env; the suite reads it from there (sys.prefix).
The env type is a small plugin over asv's virtualenv that copies asv_runner in, because asv's
stock backend would pip-install wheel and asv_runner from the network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

PY = f"{sys.version_info[0]}.{sys.version_info[1]}"
ENV_NAME = f"toyvenv-py{PY}"
MACHINE = "toybox"

# Per-commit states. speed scales every time_ benchmark, value is what track_value returns.
BASE = {"speed": 1.0, "value": 10.0, "broken": False, "skip": False}
STATES = {
    "base": BASE,
    "same": dict(BASE),
    "slow": dict(BASE, speed=3.0, value=20.0),
    "fast": dict(BASE, speed=0.33, value=5.0, skip=True),
    "broken": dict(BASE, broken=True),
}

PLUGIN = '''
import shutil

import asv_runner
from asv.plugins.virtualenv import Virtualenv


class ToyVenv(Virtualenv):
    tool_name = "toyvenv"

    def _install_requirements(self):
        # Offline: copy asv_runner (the suite's only need) instead of pip-installing it.
        site = self.run_executable(
            "python", ["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip()
        shutil.copytree(asv_runner.__path__[0], site + "/asv_runner", dirs_exist_ok=True)
'''

SUITE = '''
import json
import os
import sys

with open(os.path.join(sys.prefix, "state.json")) as f:
    STATE = json.load(f)

# Deterministic timings, no sleeping: each time_ method advances a clock by its nominal time times
# the next factor of a fixed spread, and asv reads that clock as the class's `timer` (the idea of
# ropebench's ReplayClock). A loaded machine cannot change a sample. asv runs each benchmark in a
# fresh process, so every benchmark starts the spread from its beginning.
SPREAD = (1.00, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97, 1.00)


class Clock:
    now = 0.0
    count = 0


def clock():
    return Clock.now


def spend(seconds):
    Clock.now += seconds * SPREAD[Clock.count % len(SPREAD)]
    Clock.count += 1


class Timing:
    # 16 samples per side so that Mann-Whitney can reach p < 0.002.
    number = 1
    repeat = (16, 16, 10.0)
    rounds = 1
    warmup_time = 0
    version = "1"
    timer = staticmethod(clock)

    def time_work(self):
        spend(0.003 * STATE["speed"])


class Scaled:
    params = [[1, 2]]
    param_names = ["n"]
    number = 1
    repeat = (16, 16, 10.0)
    rounds = 1
    warmup_time = 0
    version = "1"
    timer = staticmethod(clock)

    def time_scaled(self, n):
        spend(0.003 * n * STATE["speed"])


class Flaky:
    number = 1
    repeat = (3, 3, 10.0)
    rounds = 1
    warmup_time = 0
    version = "1"
    timer = staticmethod(clock)

    def setup(self):
        if STATE["skip"]:
            raise NotImplementedError("not on this commit")

    def time_maybe_skipped(self):
        spend(0.001)

    def time_maybe_broken(self):
        if STATE["broken"]:
            raise RuntimeError("broken on this commit")
        spend(0.001)


def track_value():
    return STATE["value"]


track_value.unit = "widgets"
track_value.version = "1"
'''

def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def make_project(root: Path, states: list[dict]) -> tuple[Path, list[str]]:
    """A git repo with one commit per state on branch main; returns (path, hashes oldest first)."""
    proj = root / "proj"
    proj.mkdir(parents=True)
    git(proj, "init", "-q", "-b", "main")
    git(proj, "config", "user.email", "toy@example.invalid")
    git(proj, "config", "user.name", "toy")
    hashes = []
    for i, state in enumerate(states):
        (proj / "state.json").write_text(json.dumps(state))
        git(proj, "add", "state.json")
        # Fixed, increasing dates so asv's graphs order the commits the same way every time.
        env = dict(os.environ, GIT_AUTHOR_DATE=f"2024-01-{i + 1:02d}T12:00:00Z",
                   GIT_COMMITTER_DATE=f"2024-01-{i + 1:02d}T12:00:00Z")
        subprocess.run(["git", "-C", str(proj), "commit", "-q", "--allow-empty", "-m", f"state {i}"],
                       check=True, env=env)
        hashes.append(git(proj, "rev-parse", "HEAD"))
    return proj, hashes


def make_suite(root: Path, proj: Path, name: str = "suite", suite_code: str = SUITE, **conf_overrides) -> Path:
    """An asv suite folder (conf, plugin, benchmarks) pointing at proj; returns the conf path."""
    suite = root / name
    (suite / "benchmarks").mkdir(parents=True)
    (suite / "benchmarks" / "__init__.py").write_text("")
    (suite / "benchmarks" / "toy.py").write_text(textwrap.dedent(suite_code))
    (suite / "toyvenv.py").write_text(PLUGIN)
    conf = {
        "version": 1,
        "project": "toy",
        "project_url": "https://example.invalid/toy",
        "repo": str(proj),
        "branches": ["main"],
        "plugins": [".toyvenv"],
        "environment_type": "toyvenv",
        "pythons": [PY],
        "build_command": [],
        "uninstall_command": [],
        "install_command": [
            "in-dir={env_dir} python -c \"import shutil, sys; shutil.copy(sys.argv[1], 'state.json')\" "
            "{build_dir}/state.json"
        ],
        "env_dir": ".asv/env",
        "results_dir": ".asv/results",
        "html_dir": ".asv/html",
        "launch_method": "spawn",
    }
    conf.update(conf_overrides)
    path = suite / "asv.conf.json"
    path.write_text(json.dumps(conf, indent=2))
    return path


def write_machine_file(home: Path, machine: str = MACHINE) -> None:
    """What `asv machine --yes` writes, with a fixed name: the tests point HOME here."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".asv-machine.json").write_text(json.dumps({
        machine: {"arch": "x86_64", "cpu": "toy cpu", "machine": machine, "num_cpu": "2",
                  "os": "Linux", "ram": "1000000"},
        "version": 1,
    }))


def asv(conf: Path, *args, home: Path, check_codes=(0,), timeout=600, suite: Path | None = None):
    """Run asv (this interpreter's) from the suite folder, as the workflows do."""
    # PYTHONPATH: the toy's env plugin is a file in the suite folder, which may not hold conf.
    env = dict(os.environ, HOME=str(home), ASV_NO_COLOR="1", PYTHONPATH=str(suite or conf.parent))
    proc = subprocess.run([sys.executable, "-m", "asv", *map(str, args), "--config", str(conf)],
                          cwd=conf.parent, capture_output=True, text=True, env=env, timeout=timeout)
    if check_codes is not None and proc.returncode not in check_codes:
        raise AssertionError(f"asv {' '.join(map(str, args))} exited {proc.returncode}\n"
                             f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


# The order of the commits of the recorded results (tests/fixtures/asv_results).
RECORDED = ["base", "same", "slow", "fast", "broken"]


def run_all(root: Path, names=tuple(RECORDED)) -> tuple[Path, dict, Path]:
    """asv run --record-samples over the named states; returns (conf, hashes by name, home)."""
    proj, hashes = make_project(root, [STATES[n] for n in names])
    conf = make_suite(root, proj)
    home = root / "home"
    write_machine_file(home)
    hashfile = root / "all.txt"
    hashfile.write_text("\n".join(hashes) + "\n")
    # Exit 2 is asv's "a benchmark failed": the broken commit, on purpose.
    asv(conf, "run", f"HASHFILE:{hashfile}", "--machine", MACHINE, "--record-samples", "--show-stderr",
        home=home, check_codes=(2,))
    return conf, dict(zip(names, hashes)), home


def record(dest: Path) -> None:
    """Write the recorded results fixture: asv's results folder of run_all, plus hashes.json."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        conf, hashes, _ = run_all(Path(tmp))
        if dest.exists():
            shutil.rmtree(dest / MACHINE, ignore_errors=True)
        shutil.copytree(conf.parent / ".asv" / "results", dest, dirs_exist_ok=True)
        (dest / "hashes.json").write_text(json.dumps(hashes, indent=2) + "\n")


if __name__ == "__main__":
    record(Path(sys.argv[1]))
