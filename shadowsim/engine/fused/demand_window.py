"""The demand window's per-tick push as one compiled call: :class:`FusedDemandWindow`.

Same buffer, same content as :class:`~shadowsim.engine.demand_window.DemandWindow` (each
row written twice, so the window stays one contiguous slice), in one numba call per tick
instead of two numpy slice assignments.

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.engine.demand_window import DemandWindow
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.jit import njit

F64 = NDArray[np.float64]


@njit
def _push(  # pragma: no cover - compiled
    buffer: F64, demand: F64, pos: int, length: int
) -> None:
    """Write ``(A, 4)`` ``demand`` at rows ``pos`` and ``pos + length`` of ``buffer``."""
    for a in range(demand.shape[0]):
        for r in range(N_RESOURCES):
            v = demand[a, r]
            buffer[a, pos, r] = v
            buffer[a, pos + length, r] = v


class FusedDemandWindow(DemandWindow):
    """:class:`DemandWindow` whose :meth:`push` is one compiled call (same content)."""

    def push(self, demand: F64) -> None:
        """Append one tick's ``(A, 4)`` demand, dropping the oldest when full."""
        if demand.shape != (self._buffer.shape[0], N_RESOURCES):
            super().push(demand)  # the reference's broadcasting (and its errors)
            return
        _push(self._buffer, demand, self._pos, self.length)
        self.advance()

    @property
    def buffer(self) -> F64:
        """``(A, 2 length, 4)`` the buffer (each row twice; for fused callers)."""
        return self._buffer

    @property
    def position(self) -> int:
        """The row the next push writes (and ``position + length``)."""
        return self._pos

    def advance(self) -> None:
        """Account for one row written at :attr:`position` (by :func:`_push`)."""
        self._pos = (self._pos + 1) % self.length
        if self._count < self.length:
            self._count += 1
