"""Every named bug in tests/mutants/ must make the fast suite fail.

Each NN-name.patch starts with "Bug: ..." and "Tests: <test files>" lines, then a unified diff against
the current code. For each, the working tree is copied to a scratch folder, the patch applied there
(never here), and the listed test files run with pytest; the patch is caught when they fail (exit 1).
The unpatched copy must pass the same files first, so a failure is the bug's doing.

    .venv/bin/python scripts/check_mutants.py [PATCH ...]     # exit 0 when every patch is caught
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MUTANTS = REPO / "tests" / "mutants"
SKIP = shutil.ignore_patterns(".git", ".venv*", ".asv", "out", "__pycache__", ".pytest_cache", ".hypothesis",
                              "vendor", "mutants")


def header(patch: Path) -> tuple[str, list[str]]:
    fields = dict(line.split(": ", 1) for line in patch.read_text().splitlines()[:2])
    return fields["Bug"], fields["Tests"].split()


def pytest(tree: Path, tests: list[str]) -> subprocess.CompletedProcess:
    # The copy's ropebench comes first on sys.path, ahead of the venv's editable install of this one.
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                           "-m", "not slow and not cuda_build", *tests], cwd=tree, env=env,
                          capture_output=True, text=True)


def main(argv: list[str]) -> int:
    patches = [Path(a).resolve() for a in argv] or sorted(MUTANTS.glob("*.patch"))
    if not patches:
        print(f"no patches in {MUTANTS}", file=sys.stderr)
        return 2
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ropebench-mutants-") as tmp:
        clean = Path(tmp) / "clean"
        shutil.copytree(REPO, clean, ignore=SKIP)
        where = subprocess.run([sys.executable, "-c", "import ropebench; print(ropebench.__file__)"], cwd=clean,
                               env=dict(os.environ, PYTHONPATH=str(clean)), capture_output=True, text=True)
        if not where.stdout.startswith(str(clean)):
            print(f"the scratch copy's ropebench is not the one imported: {where.stdout or where.stderr}")
            return 2
        all_tests = sorted({t for p in patches for t in header(p)[1]})
        base = pytest(clean, all_tests)
        if base.returncode != 0:
            print("the unpatched tree fails its own tests:\n" + base.stdout[-3000:])
            return 2
        missed = []
        for patch in patches:
            bug, tests = header(patch)
            tree = Path(tmp) / patch.stem
            shutil.copytree(clean, tree)
            applied = subprocess.run(["git", "apply", "-p1", str(patch)], cwd=tree, capture_output=True, text=True)
            t0 = time.monotonic()
            if applied.returncode != 0:
                verdict, missed = "DOES NOT APPLY (update the patch)", missed + [patch.name]
            else:
                proc = pytest(tree, tests)
                caught = proc.returncode == 1  # tests failed (not: collection error, no tests, passed)
                first = next((ln.split()[1] for ln in proc.stdout.splitlines() if ln.startswith("FAILED ")), "")
                verdict = f"caught by {first}" if caught else f"MISSED (pytest exit {proc.returncode})"
                if not caught:
                    missed.append(patch.name)
            print(f"{patch.name}: {verdict} ({time.monotonic() - t0:.1f} s)  # {bug}", flush=True)
            shutil.rmtree(tree)
    print(f"{len(patches) - len(missed)}/{len(patches)} caught in {time.monotonic() - started:.0f} s")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
