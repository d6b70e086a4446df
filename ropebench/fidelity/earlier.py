"""Merging with an earlier fidelity report: parts not re-run are kept with their dates, and the
hand-written notes below NOTES_MARK survive a rewrite."""

from __future__ import annotations

import json
from pathlib import Path

from ropebench.errors import RopeBenchError

PARTS = {"agreement": "agreement", "repeat": "repeatability", "detect": "detection", "roofline": "roofline"}
NOTES_MARK = "<!-- Written by hand: kept when ropebench fidelity rewrites this file. -->"


def earlier_report(path: Path, info: dict) -> dict:
    """The parts of an earlier report on the same GPU model, kept when only some parts are re-run
    (each part carries the date it was measured); a report from another GPU is not mixed in."""
    if not path.exists():
        return {}
    try:
        old = json.loads(path.read_text())
    except ValueError:
        raise RopeBenchError(f"{path} is not a fidelity report (bad JSON); move it away or pick another --out") \
            from None
    if old.get("machine", {}).get("gpu") != info.get("gpu"):
        return {}
    date = old.get("machine", {}).get("date", "unknown date")
    keep = {key: old[key] for key in (*PARTS.values(), "backends") if key in old}
    keep["measured"] = {part: old.get("measured", {}).get(part, date)
                        for part, key in PARTS.items() if key in old}
    return keep


def kept_notes(out: Path) -> str:
    """The hand-written analysis below NOTES_MARK in an existing report."""
    if not out.exists():
        return ""
    text = out.read_text()
    return text[text.index(NOTES_MARK):] if NOTES_MARK in text else ""
