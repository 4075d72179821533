"""Filling ticks that have no value: short gaps, missing values and inactive ticks.

:class:`GapPolicy` says how a value is made up for an *active* tick without one (a short gap,
or a resource missing from an otherwise observed tick); :class:`InactiveFill` says what an
*inactive* tick (VM not provisioned, before/after the trace, long gap) holds. Both work on one
resource at a time over all applications at once (see :func:`fill_along_ticks`).
"""

from __future__ import annotations

from enum import Enum

import numpy as np
from numpy.typing import NDArray

__all__ = ["GapPolicy", "InactiveFill", "fill_along_ticks"]


class GapPolicy(Enum):
    """How short gaps (at most ``max_gap_s``) and missing values are filled."""

    LINEAR = "linear"
    """Straight line between the known ticks on both sides (the nearer known value at the
    edge of an active stretch)."""
    FORWARD_FILL = "forward_fill"
    """Last known value before the gap (the next known value at the start of a stretch)."""
    ZERO = "zero"
    """Zero demand."""
    ERROR = "error"
    """Raise a :class:`~shadowsim.errors.TraceFormatError` on the first gap or missing value."""

    @property
    def repair_kind(self) -> str:
        """The :class:`~shadowsim.workloads.repairs.RepairReport` kind of a filled gap tick."""
        return _GAP_KINDS[self]


_GAP_KINDS = {
    GapPolicy.LINEAR: "gap_ticks_interpolated",
    GapPolicy.FORWARD_FILL: "gap_ticks_forward_filled",
    GapPolicy.ZERO: "gap_ticks_zero_filled",
    GapPolicy.ERROR: "gap_ticks_rejected",
}


class InactiveFill(Enum):
    """What the demand of an inactive tick is set to (the ``active`` mask marks it anyway)."""

    ZERO = "zero"
    """Zero: a VM that is not there demands nothing (what the simulator should replay)."""
    HOLD = "hold"
    """The last active value before it (the first active value after it at the start)."""


def fill_along_ticks(
    values: NDArray[np.float64],
    active: NDArray[np.bool_],
    gap_policy: GapPolicy,
    inactive_fill: InactiveFill,
) -> NDArray[np.bool_]:
    """Fill every NaN of one resource in place, along the tick axis.

    NaN in an active tick is filled by ``gap_policy`` from the known values of the same
    *active stretch* (consecutive active ticks) only; inactive ticks are overwritten by
    ``inactive_fill``. Under ``GapPolicy.ERROR`` active NaN are filled like ``LINEAR``: the
    caller raises before it calls this.

    Args:
        values: ``(n_apps, n_ticks)`` values of one resource; NaN where unknown. Modified.
        active: ``(n_apps, n_ticks)`` activity mask.
        gap_policy: How active NaN ticks are filled.
        inactive_fill: What inactive ticks become.

    Returns:
        ``(n_apps, n_ticks)`` mask of active ticks set to 0 because their stretch has no
        known value of this resource at all.
    """
    n_apps, n_ticks = values.shape
    rows = np.arange(n_apps)[:, None]
    idx = np.broadcast_to(np.arange(n_ticks), values.shape)
    known = active & ~np.isnan(values)
    to_fill = active & ~known
    left, right = _neighbours(known)
    left_c, right_c = np.clip(left, 0, n_ticks - 1), np.clip(right, 0, n_ticks - 1)
    stretch = np.cumsum(~active, axis=1)
    left_ok = (left >= 0) & (stretch[rows, left_c] == stretch)
    right_ok = (right < n_ticks) & (stretch[rows, right_c] == stretch)
    v_left, v_right = values[rows, left_c], values[rows, right_c]

    if gap_policy is GapPolicy.ZERO:
        filled = np.zeros_like(values)
        nothing = np.zeros_like(to_fill)
    else:
        if gap_policy is GapPolicy.FORWARD_FILL:
            both = np.zeros_like(to_fill)
        else:
            both = left_ok & right_ok & to_fill
        span = np.where(both, right - left, 1)
        weight = np.where(both, (idx - left) / span, 0.0)
        filled = np.where(
            both,
            v_left + (v_right - v_left) * weight,
            np.where(left_ok, v_left, np.where(right_ok, v_right, 0.0)),
        )
        nothing = to_fill & ~left_ok & ~right_ok
    values[to_fill] = filled[to_fill]

    inactive = ~active
    if inactive_fill is InactiveFill.ZERO:
        values[inactive] = 0.0
    else:
        any_left, any_right = left >= 0, right < n_ticks
        held = np.where(any_left, v_left, np.where(any_right, v_right, 0.0))
        values[inactive] = held[inactive]
    return np.asarray(nothing, dtype=np.bool_)


def _neighbours(known: NDArray[np.bool_]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Per tick, the index of the last known tick at or before it (-1 if none) and of the
    first known tick at or after it (``n_ticks`` if none)."""
    n_ticks = known.shape[1]
    idx = np.broadcast_to(np.arange(n_ticks), known.shape)
    left = np.maximum.accumulate(np.where(known, idx, -1), axis=1)
    right_rev = np.minimum.accumulate(np.flip(np.where(known, idx, n_ticks), axis=1), axis=1)
    return left, np.flip(right_rev, axis=1)
