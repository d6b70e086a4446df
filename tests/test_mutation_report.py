"""scripts/mutation_report.py: the hand-written note on each surviving mutant outlives the runs that rewrite it."""

from __future__ import annotations

import importlib.util
import json
import sys
import types

from tests.conftest import REPO

REF = "ropebench.reference.x_rope_reference__mutmut_6"
MERGE = "ropebench.asvtools.merge.x__rank__mutmut_6"
GONE = "ropebench.timing.x_laps_for__mutmut_9"


def _script():
    spec = importlib.util.spec_from_file_location("mutation_report", REPO / "scripts" / "mutation_report.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_a_run_of_some_modules_keeps_the_notes_of_the_others(tmp_path, monkeypatch):
    """Bug caught: `make mutation MODULES=reference` (or a run cut short after its first module) rewrote
    docs/mutation.md with the counted modules only, and every other module's survivor notes were lost."""
    report = _script()
    monkeypatch.setattr(report, "REPO", tmp_path)
    monkeypatch.setattr(report, "change", lambda key, path: "`a` -> `b`")
    monkeypatch.setitem(sys.modules, "mutmut", types.SimpleNamespace(__version__="3.test"))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "mutation.md").write_text(
        f"- `{REF}` (survived, x) — equivalent: the reference note\n"
        f"- `{REF}` (survived, x) — TODO\n"  # a later run's placeholder for the same mutant
        f"- `{MERGE}` (survived, y) — ranks are only compared\n"
        f"- `{GONE}` (survived, z) — TODO\n")
    counts = {k: 0 for k in report.KEYS} | {"killed": 9, "survived": 1}
    report.write({"ropebench/reference.py": counts | {"not_survived": [REF], "verdict": {REF: "survived"}}})

    md = (tmp_path / "docs" / "mutation.md").read_text()
    assert f"- `{REF}` (survived, `a` -> `b`) — equivalent: the reference note" in md
    kept = md.split("## Notes kept for modules not in this report")[1]
    assert f"- `{MERGE}` — ranks are only compared" in kept
    assert GONE not in md  # a TODO is no note
    assert report.old_notes(tmp_path / "docs" / "mutation.md")[MERGE] == "ranks are only compared"  # and again
    doc = json.loads((tmp_path / "docs" / "mutation.json").read_text())
    assert doc["modules"] == {"ropebench/reference.py": {k: counts[k] for k in report.KEYS}}
    assert "ropebench/asvtools/merge.py" in doc["not_run"]
