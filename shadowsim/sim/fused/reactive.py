"""The reactive threshold rule (:mod:`shadowsim.sim.reactive`) as one compiled pass.

Same arithmetic, in the same order, as :meth:`ReactiveRule.decide`'s numpy code, with
numpy's NaN propagation for the maxima and minima, so the targets are identical.

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.sim.jit import njit


@njit
def _nan_max(a: float, b: float) -> float:  # pragma: no cover - compiled
    """``np.maximum`` of two floats (NaN if either is)."""
    return a if a >= b or a != a else b


@njit
def _nan_min(a: float, b: float) -> float:  # pragma: no cover - compiled
    """``np.minimum`` of two floats (NaN if either is)."""
    return a if a <= b or a != a else b


@njit
def decide(  # pragma: no cover - compiled
    usage: NDArray[np.float64],
    current: NDArray[np.float64],
    util: NDArray[np.float64],
    window: NDArray[np.float64],
    slot: int,
    tolerance: float,
    out: NDArray[np.float64],
) -> None:
    """Write the targets for ``(A, 4)`` ``usage`` and ``current`` allocations into ``out``.

    Args:
        usage: Served usage of the last interval.
        current: Allocation once in-flight scaling lands.
        util: Target utilisation, tiled to ``(A, 4)``.
        window: ``(W, A, 4)`` recommendations of the last W decisions; row ``slot`` is
            overwritten with this decision's.
        slot: Row of ``window`` for this decision.
        tolerance: Relative deviation tolerated without action.
        out: ``(A, 4)`` targets.

    Every array is C-contiguous.
    """
    n = usage.size
    used, cur, util_flat, targets = (
        usage.reshape(n),
        current.reshape(n),
        util.reshape(n),
        out.reshape(n),
    )
    n_window = window.shape[0]
    rows = window.reshape(n_window, n)
    rec = rows[slot]
    # flat, branch-free loops that store to one array each: the compiler turns them into
    # vector instructions (a loop storing to the window while reading it would not be)
    for i in range(n):
        ratio = abs(used[i] / (cur[i] * util_flat[i]) - 1.0)
        scaled = used[i] / util_flat[i]
        rec[i] = cur[i] if ratio <= tolerance else scaled
    if n_window == 3:  # the default window: its highest in the same pass as the targets
        row0, row1, row2 = rows[0], rows[1], rows[2]
        for i in range(n):
            stable = _nan_max(_nan_max(row0[i], row1[i]), row2[i])
            targets[i] = _nan_min(_nan_max(cur[i], rec[i]), stable)
        return
    targets[:] = rows[0]
    for w in range(1, n_window):
        row = rows[w]
        for i in range(n):
            targets[i] = _nan_max(targets[i], row[i])
    for i in range(n):
        targets[i] = _nan_min(_nan_max(cur[i], rec[i]), targets[i])
