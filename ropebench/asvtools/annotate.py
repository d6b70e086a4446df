"""``ropebench sidecar``: after ``asv run``, write each new result's sidecar (sidecar.py).

Two sections, each written only where missing (a re-run never rewrites what an earlier run recorded):

- ``versions``: ropebench, FlashInfer, torch, asv (sidecar.versions()) as installed in the runner's
  Python, which the ``ropebench`` asv environment reuses: the versions the run measured with.
- ``build``: the kernel's build record (build.json: source hash, torch, CUDA/nvcc, arch, flags,
  ropebench's builder version), read from the wheel asv keeps in its build cache for that commit
  (``<env>/asv-build-cache/<commit>/*.whl``, ``build_cache_size`` commits deep).

Why after the run and not from inside the suite: a benchmark process does not know which machine
folder or result file asv will write (asv passes the commit and env, not the machine), and asv's
own environment holds only the last commit's kernel. Run it in the same job as ``asv run``, and say
which results are this run's, so that results restored from earlier runs never get this run's
versions: ``--all`` (a results folder that asv filled from empty, as the history workflow's chunks
do), ``--newer-than STAMP`` (written after STAMP, e.g. the restore of the results branch), or by
default those written in the last day that still lack a section.
"""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

from ropebench.asvtools import sidecar

BUILD_MEMBER = "ropebench_vllm_kernel/build.json"
RECENT_S = 24 * 3600  # without --newer-than: results written in the last day that lack versions


def result_files(results_dir: Path):
    """asv result files (not machine.json, not benchmarks.json)."""
    for path in sorted(results_dir.glob("*/*.json")):
        if path.name != "machine.json":
            yield path


def env_dirs_of(env_dir: Path) -> list[Path]:
    """asv's env folder and the per-shard ones ``ropebench shard --asv-confs`` makes beside it."""
    return [env_dir, *sorted(env_dir.parent.glob(f"{env_dir.name}-shard-*"))]


def wheel_build_record(env_dirs, commit: str) -> dict | None:
    """build.json of the kernel wheel asv cached for commit (newest first where several envs have one)."""
    env_dirs = [env_dirs] if isinstance(env_dirs, Path) else list(env_dirs)
    wheels = sorted((w for d in env_dirs for w in d.glob(f"*/asv-build-cache/{commit}/*.whl")),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for wheel in wheels:
        try:
            with zipfile.ZipFile(wheel) as z:
                return json.loads(z.read(BUILD_MEMBER))
        except (KeyError, zipfile.BadZipFile, OSError, ValueError):
            continue  # a wheel-mode vLLM wheel, or a broken file: no kernel record there
    return None


def annotate(results_dir: Path, env_dirs, newer_than: float | None, every: bool = False) -> dict:
    """Write the missing sections of this run's results (every one with ``every``, those written after
    ``newer_than``, else those of the last day that lack a section); the counts."""
    versions = sidecar.versions()
    counts = {"results": 0, "versions_written": 0, "build_written": 0, "build_missing": 0}
    now = time.time()
    for path in result_files(results_dir):
        try:
            data = json.loads(path.read_text())
            commit = data["commit_hash"]
        except (OSError, ValueError, KeyError):
            continue
        mtime = path.stat().st_mtime
        have = sidecar.read(path)
        if every:
            fresh = True
        elif newer_than is not None:
            fresh = mtime > newer_than
        else:
            fresh = now - mtime < RECENT_S and not ("versions" in have and "build" in have)
        if not fresh:
            continue
        counts["results"] += 1
        if "versions" not in have:
            sidecar.update(path, "versions", versions)
            counts["versions_written"] += 1
        if "build" not in have:
            record = wheel_build_record(env_dirs, commit) if env_dirs else None
            if record is None:
                counts["build_missing"] += 1
            else:
                sidecar.update(path, "build", record)
                counts["build_written"] += 1
    return counts
