"""Fidelity's detection reads asv's results through ropebench compare (toy results real asv wrote)."""

from __future__ import annotations

import pytest

from ropebench.fidelity.detect import verdicts

from .toyasv import MACHINE

pytestmark = pytest.mark.slow


def test_a_slow_commit_is_flagged_point_by_point_and_a_rerun_is_not(toy_results):
    results, h = toy_results
    slow = verdicts(results, h["base"], h["slow"], 1.5, machine=MACHINE)
    # The toy's slow commit is 3x on every time_ benchmark and doubles track_value.
    assert slow["flagged"] == len(slow["rows"]) > 0
    assert all(slow["ratios"][row] >= 1.5 for row in slow["rows"])
    same = verdicts(results, h["base"], h["same"], 1.5, machine=MACHINE)
    assert same["flagged"] == 0 and same["rows"] == [] and set(same["ratios"]) == set(slow["ratios"])
