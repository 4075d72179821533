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
        util: ``(4,)`` target utilisation per resource.
        window: ``(W, A, 4)`` recommendations of the last W decisions; row ``slot`` is
            overwritten with this decision's.
        slot: Row of ``window`` for this decision.
        tolerance: Relative deviation tolerated without action.
        out: ``(A, 4)`` targets.

    Every array is C-contiguous.
    """
    n = usage.size
    used, cur, targets = usage.reshape(n), current.reshape(n), out.reshape(n)
    util0, util1, util2, util3 = util[0], util[1], util[2], util[3]
    n_window = window.shape[0]
    rows = window.reshape(n_window, n)
    rec = rows[slot]
    # flat, branch-free loops that store to one array each: the compiler turns them into
    # vector instructions (a loop storing to the window while reading it would not be)
    for a in range(n // 4):
        for r in range(4):  # unrolled: the utilisation is a scalar picked by r
            i = a * 4 + r
            u = util0 if r == 0 else (util1 if r == 1 else (util2 if r == 2 else util3))
            ratio = abs(used[i] / (cur[i] * u) - 1.0)
            scaled = used[i] / u
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
