"""The assemble() constructors of per-tick result objects make the same objects as __init__."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from shadowsim.actions import ActionResult, ScaleAllAction, ScaleAllOutcome
from shadowsim.cluster_state import CostBreakdown


def test_cost_breakdown_assemble_equals_the_constructor() -> None:
    made = CostBreakdown.assemble(1.5, 0.25, 2.0)
    assert made == CostBreakdown(1.5, 0.25, 2.0)
    assert hash(made) == hash(CostBreakdown(1.5, 0.25, 2.0))
    assert made.total == 3.75
    assert made != CostBreakdown(1.5, 0.25, 2.5)


def test_outcome_and_result_assemble_equal_the_constructors() -> None:
    accepted = np.ones((2, 4), dtype=np.bool_)
    clamped = np.zeros((2, 4), dtype=np.bool_)
    applied = np.full((2, 4), 3.0)
    reasons = {"negative target": 1}
    outcome = ScaleAllOutcome.assemble(accepted, clamped, applied, reasons)
    reference = ScaleAllOutcome(accepted, clamped, applied, reasons)
    for f in fields(ScaleAllOutcome):
        assert getattr(outcome, f.name) is getattr(reference, f.name)
    action = ScaleAllAction(applied)
    result = ActionResult.assemble(action, True, "1 entries clamped", 300.0, outcome)
    assert result == ActionResult(action, True, "1 entries clamped", 300.0, outcome)
    assert repr(result) == repr(ActionResult(action, True, "1 entries clamped", 300.0, outcome))
