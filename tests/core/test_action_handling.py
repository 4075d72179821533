"""The dispatch and checks every backend applies to actions (shadowsim/action_handling.py)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from shadowsim.action_handling import (
    HOLD_REASON,
    ActionHandlers,
    index_in,
    invalid_pool_targets,
    scale_all_targets,
    scale_one_targets,
    scale_reason,
)
from shadowsim.actions import (
    Action,
    ActionResult,
    MigrateAction,
    PoolTargetAction,
    ScaleAction,
    ScaleAllAction,
    ShiftToSpareAction,
)
from shadowsim.resources import Resource


def _recording() -> tuple[ActionHandlers, list[str]]:
    calls: list[str] = []

    def handler(name: str) -> Callable[[Action], ActionResult]:
        def handle(action: Action) -> ActionResult:
            calls.append(name)
            return ActionResult(action, True, name)

        return handle

    handlers = ActionHandlers(
        scale_all=handler("scale_all"),
        scale_one=handler("scale_one"),
        migrate=handler("migrate"),
        shift=handler("shift"),
        pool_target=handler("pool_target"),
    )
    return handlers, calls


def test_each_action_goes_to_its_handler_in_order() -> None:
    handlers, calls = _recording()
    actions: list[Action] = [
        PoolTargetAction((1, 0, 0, 0)),
        ScaleAllAction(np.zeros((2, 4))),
        ShiftToSpareAction(1),
        ScaleAction(0, Resource.CPU, 2.0),
        MigrateAction(0, 1),
    ]
    results = handlers.apply(actions)
    assert calls == ["pool_target", "scale_all", "shift", "scale_one", "migrate"]
    assert [r.action for r in results] == actions


def test_a_subclass_of_the_bulk_action_still_reaches_its_handler() -> None:
    class Tagged(ScaleAllAction):
        pass

    handlers, calls = _recording()
    handlers.apply([Tagged(np.zeros((2, 4)))])
    assert calls == ["scale_all"]


def test_an_object_that_is_no_action_is_rejected_with_the_types_expected() -> None:
    handlers, calls = _recording()
    (result,) = handlers.apply(["scale up"])  # type: ignore[list-item]
    assert calls == []
    assert not result.accepted
    assert result.reason.startswith("unknown action type str; expected ScaleAction, ")
    assert "PoolTargetAction" in result.reason


@pytest.mark.parametrize(
    ("value", "size", "expected"),
    [(0, 3, 0), (np.int64(2), 3, 2), (3, 3, None), (-1, 3, None), (True, 3, None),
     (1.0, 3, None), ("1", 3, None)],
)  # fmt: skip
def test_index_in(value: object, size: int, expected: int | None) -> None:
    assert index_in(value, size) == expected


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (ScaleAction(True, Resource.CPU, 1.0), "app must be an integer index, got True"),  # type: ignore[arg-type]
        (ScaleAction(1.0, Resource.CPU, 1.0), "app must be an integer index, got 1.0"),  # type: ignore[arg-type]
        (ScaleAction(3, Resource.CPU, 1.0), "unknown app 3: valid 0..2"),
        (ScaleAction(-1, Resource.CPU, 1.0), "unknown app -1: valid 0..2"),
        (ScaleAction(0, 1, 1.0), "resource must be a Resource, got 1"),  # type: ignore[arg-type]
        (ScaleAction(0, Resource.CPU, "2"), "target must be a number, got '2'"),  # type: ignore[arg-type]
        (ScaleAction(0, Resource.CPU, False), "target must be a number, got False"),
        (ScaleAction(0, Resource.CPU, float("nan")), "target is NaN; give a number"),
    ],
)
def test_a_bad_single_scale_action_gets_its_reason(action: ScaleAction, message: str) -> None:
    assert scale_one_targets(action, 3) == message


def test_a_single_scale_action_is_one_entry_of_held_targets() -> None:
    targets = scale_one_targets(ScaleAction(np.int64(2), Resource.MEMORY, 512), 3)
    assert isinstance(targets, np.ndarray)
    assert targets.shape == (3, 4)
    assert targets[2, Resource.MEMORY] == 512.0
    assert np.isnan(np.delete(targets.ravel(), 2 * 4 + Resource.MEMORY)).all()
    single = scale_one_targets(ScaleAction(0, Resource.CPU, np.float32(1.5)), 3)  # type: ignore[arg-type]
    assert isinstance(single, np.ndarray)
    assert single[0, Resource.CPU] == 1.5


def test_bulk_targets_are_checked_for_numbers_and_shape() -> None:
    given = np.ones((3, 4))
    assert scale_all_targets(given, 3) is given  # float64 of the right shape: as it is
    converted = scale_all_targets([[1, 2, 3, 4]] * 3, 3)
    assert isinstance(converted, np.ndarray)
    assert converted.dtype == np.float64
    assert scale_all_targets(np.ones((3, 3)), 3) == "targets must have shape (3, 4), got (3, 3)"
    reason = scale_all_targets([["a"] * 4] * 3, 3)
    assert isinstance(reason, str)
    assert reason.startswith("targets are not numbers: ")


def test_scale_reason() -> None:
    assert scale_reason(True, 0, {}) == ""
    assert scale_reason(False, 0, {}) == HOLD_REASON
    assert scale_reason(True, 2, {}) == "2 entries clamped"
    both = scale_reason(True, 1, {"negative target": 2, "VM not running": 1})
    assert both == "1 entries clamped; 2 rejected: negative target; 1 rejected: VM not running"
    assert scale_reason(True, 0, {"negative target": 1}) == "1 rejected: negative target"


def test_pool_targets() -> None:
    key = "cluster.pool.max_per_state"
    assert invalid_pool_targets((1, 0, 2, 5), 4, 5, key) == ""
    assert invalid_pool_targets((np.int64(1), 0, 0, 0), 4, 5, key) == ""
    assert invalid_pool_targets((1, 0, 2), 4, 5, key) == "need 4 targets (one per state)"
    reason = invalid_pool_targets((6, -1, True, 1.0), 4, 5, key)
    assert reason == f"targets must be integers in [0, 5] ({key}), got [6, -1, True, 1.0]"
