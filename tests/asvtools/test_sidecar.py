"""Sidecar files beside asv results: asv must never read them as results."""

from __future__ import annotations

import json

from asv.results import iter_results_paths

from ropebench.asvtools import sidecar


def test_sections_are_kept_and_asv_does_not_load_the_sidecar(tmp_path):
    """Bugs caught: a second section overwriting the first; a sidecar named *.json, which asv would
    try to load as a result."""
    machine = tmp_path / "m1"
    machine.mkdir()
    (machine / "machine.json").write_text(json.dumps({"machine": "m1", "version": 1}))
    result = machine / "abcd1234-env.json"
    result.write_text("{}")
    sidecar.update(result, "versions", {"ropebench": "1"})
    sidecar.update(result, "health", {"ok": True})
    assert sidecar.read(result) == {"versions": {"ropebench": "1"}, "health": {"ok": True}}
    assert sidecar.path_for(result).name == "abcd1234-env.sidecar"
    assert [f for _, f, _ in iter_results_paths(str(tmp_path))] == ["abcd1234-env.json"]


def test_versions_reads_installed_metadata():
    v = sidecar.versions()
    assert set(v) == set(sidecar.VERSIONED)
    assert v["ropebench"] is not None and v["asv"] is not None
