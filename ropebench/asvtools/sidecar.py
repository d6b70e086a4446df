"""Sidecar files: what a result needs to be explained but asv's machine file must not hold.

asv turns every machine-file key into a graph parameter, so a new FlashInfer version or a health
reading there would split every series. Instead each result file ``<machine>/<stem>.json`` gets a
sidecar ``<machine>/<stem>.sidecar`` beside it: JSON, in named sections (``versions``, ``health``,
...). It is not named ``*.json`` because asv loads every ``*.json`` of a machine folder as a result.
It travels with the result file: shards, merge, the results branch.
"""

from __future__ import annotations

import json
import os
import tempfile
from importlib import metadata
from pathlib import Path

SUFFIX = ".sidecar"
# The distributions whose versions explain a control series that moves (kernel mode: torch and
# FlashInfer points do not depend on the vLLM commit). Read from metadata: importing torch costs seconds.
VERSIONED = ("ropebench", "flashinfer-python", "torch", "asv", "asv_runner", "nvidia-ml-py")


def path_for(result_file) -> Path:
    """The sidecar of an asv result file (``abcd1234-env.json`` -> ``abcd1234-env.sidecar``)."""
    p = Path(result_file)
    return p.with_name(p.stem + SUFFIX)


def read(result_file) -> dict:
    """The sidecar's sections, or {} where the result has none."""
    path = path_for(result_file)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}


def update(result_file, section: str, data: dict) -> Path:
    """Set one section of a result's sidecar, keeping the others; written atomically."""
    path = path_for(result_file)
    content = read(result_file)
    content[section] = data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        json.dump(content, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
    return path


def versions() -> dict:
    """Installed versions of ``VERSIONED`` (None where not installed)."""
    out = {}
    for dist in VERSIONED:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out
