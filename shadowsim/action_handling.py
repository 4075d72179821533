"""How every backend takes actions: one dispatch by type, shared checks and reasons.

The simulator and the libvirt adapter both route each action through
:meth:`ActionHandlers.apply` and check its fields with the functions here, so a policy gets
the same answer for the same mistake (an unknown application, a target that is not a number,
a pool target out of range) whichever backend it runs against, and an action of an unknown
type is rejected with a reason rather than dropped.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shadowsim.actions import (
    Action,
    ActionResult,
    MigrateAction,
    PoolTargetAction,
    ScaleAction,
    ScaleAllAction,
    ShiftToSpareAction,
)
from shadowsim.resources import N_RESOURCES, Resource

__all__ = [
    "ActionHandlers",
    "index_in",
    "invalid_pool_targets",
    "scale_all_targets",
    "scale_one_targets",
    "scale_reason",
]

HOLD_REASON = "every target is NaN (hold): nothing to change"
"""The reason given for a scaling action that asks for no change at all."""


@dataclass(frozen=True)
class ActionHandlers:
    """A backend's handler for each kind of action.

    Attributes:
        scale_all: Starts a :class:`ScaleAllAction`.
        scale_one: Starts a :class:`ScaleAction`.
        migrate: Starts a :class:`MigrateAction`.
        shift: Starts a :class:`ShiftToSpareAction`.
        pool_target: Sets the pool's target from a :class:`PoolTargetAction`.
    """

    scale_all: Callable[[ScaleAllAction], ActionResult]
    scale_one: Callable[[ScaleAction], ActionResult]
    migrate: Callable[[MigrateAction], ActionResult]
    shift: Callable[[ShiftToSpareAction], ActionResult]
    pool_target: Callable[[PoolTargetAction], ActionResult]

    def apply(self, actions: Sequence[Action]) -> list[ActionResult]:
        """Hand each action to its handler, in order; one result per action (an object of
        any other type gets a rejection naming the types a backend takes)."""
        results: list[ActionResult] = []
        for action in actions:
            match action:
                case ScaleAllAction():
                    results.append(self.scale_all(action))
                case ScaleAction():
                    results.append(self.scale_one(action))
                case MigrateAction():
                    results.append(self.migrate(action))
                case ShiftToSpareAction():
                    results.append(self.shift(action))
                case PoolTargetAction():
                    results.append(self.pool_target(action))
                case _:
                    results.append(
                        ActionResult(
                            action,
                            False,
                            f"unknown action type {type(action).__name__}; expected ScaleAction, "
                            "ScaleAllAction, MigrateAction, ShiftToSpareAction or "
                            "PoolTargetAction",
                        )
                    )
        return results


def index_in(value: object, size: int) -> int | None:
    """``value`` as an index in ``[0, size)`` (an integer, not a bool), or None."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        return None
    index = int(value)
    return index if 0 <= index < size else None


def scale_one_targets(action: ScaleAction, n_apps: int) -> NDArray[np.float64] | str:
    """The ``(n_apps, 4)`` targets a :class:`ScaleAction` stands for (NaN, "hold", but for its
    one entry), or why it is invalid."""
    if isinstance(action.app, bool) or not isinstance(action.app, int | np.integer):
        return f"app must be an integer index, got {action.app!r}"
    if not 0 <= action.app < n_apps:
        return f"unknown app {action.app}: valid 0..{n_apps - 1}"
    if not isinstance(action.resource, Resource):
        return f"resource must be a Resource, got {action.resource!r}"
    if isinstance(action.target, bool) or not isinstance(action.target, numbers.Real):
        return f"target must be a number, got {action.target!r}"
    if np.isnan(action.target):
        return "target is NaN; give a number"
    targets = np.full((n_apps, N_RESOURCES), np.nan)
    targets[action.app, action.resource] = action.target
    return targets


def scale_all_targets(raw: object, n_apps: int) -> NDArray[np.float64] | str:
    """``raw`` as ``(n_apps, 4)`` float64 targets (a float64 array is taken as it is), or why
    it cannot be."""
    if not isinstance(raw, np.ndarray) or raw.dtype != np.float64:
        try:
            raw = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError) as err:
            return f"targets are not numbers: {err}"
    targets: NDArray[np.float64] = raw
    if targets.shape != (n_apps, N_RESOURCES):
        return f"targets must have shape {(n_apps, N_RESOURCES)}, got {targets.shape}"
    return targets


def scale_reason(given: bool, n_clamped: int, rejected_reasons: dict[str, int]) -> str:
    """The reason reported with a scaling action's result.

    Args:
        given: True when some entry was not NaN (accepted or rejected).
        n_clamped: Entries started with a target other than the one asked for.
        rejected_reasons: Count of rejected entries per reason.
    """
    if not (rejected_reasons or n_clamped):
        return "" if given else HOLD_REASON
    parts = [f"{n_clamped} entries clamped"] if n_clamped else []
    parts += [f"{n} rejected: {why}" for why, n in rejected_reasons.items()]
    return "; ".join(parts)


def invalid_pool_targets(
    targets: Sequence[object], n_states: int, max_per_state: int, key: str
) -> str:
    """Why ``targets`` cannot be a pool's target (one integer count in ``[0, max_per_state]``
    per readiness state), or "" when they can.

    Args:
        targets: The counts asked for, one per readiness state.
        n_states: Readiness states.
        max_per_state: Most spares in one state.
        key: The config key that sets ``max_per_state`` (named in the reason).
    """
    if len(targets) != n_states:
        return f"need {n_states} targets (one per state)"
    bad = [
        t
        for t in targets
        if isinstance(t, bool) or not isinstance(t, int | np.integer) or not 0 <= t <= max_per_state
    ]
    if bad:
        return f"targets must be integers in [0, {max_per_state}] ({key}), got {bad}"
    return ""
