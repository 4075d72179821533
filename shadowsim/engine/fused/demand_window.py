"""The demand window's per-tick push as one compiled call: :class:`FusedDemandWindow`.

Same buffer, same content as :class:`~shadowsim.engine.demand_window.DemandWindow` (each
row written twice, so the window stays one contiguous slice), in one numba call per tick
instead of two numpy slice assignments.

With :meth:`FusedDemandWindow.attach_scaled` it also keeps the window as the observation
shows it (``min(float32(demand / ref), value_clip)``, the observation builder's arithmetic):
each tick scales one new row instead of the builder scaling the whole window again.

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.engine.demand_window import DemandWindow
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.jit import njit

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]


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


@njit
def scale_rows(  # pragma: no cover - compiled
    buffer: F64, inv: F64, clip: np.float32, scaled: F32, first: int, stop: int
) -> None:
    """``scaled[a, i, r] = min(float32(buffer[a, i, r] * inv[a, r]), clip)`` for rows
    ``first <= i < stop`` (NaN stays NaN, as ``np.minimum``); nothing if ``scaled`` is empty."""
    if scaled.shape[0] == 0:
        return
    for a in range(buffer.shape[0]):
        i0, i1, i2, i3 = inv[a, 0], inv[a, 1], inv[a, 2], inv[a, 3]
        for i in range(first, stop):
            row, out = buffer[a, i], scaled[a, i]
            v = np.float32(row[0] * i0)
            out[0] = clip if v > clip else v
            v = np.float32(row[1] * i1)
            out[1] = clip if v > clip else v
            v = np.float32(row[2] * i2)
            out[2] = clip if v > clip else v
            v = np.float32(row[3] * i3)
            out[3] = clip if v > clip else v


@njit
def push_scaled(  # pragma: no cover - compiled
    buffer: F64,
    demand: F64,
    pos: int,
    length: int,
    inv: F64,
    clip: np.float32,
    scaled: F32,
) -> None:
    """:func:`_push` then :func:`scale_rows` of the two rows written."""
    _push(buffer, demand, pos, length)
    scale_rows(buffer, inv, clip, scaled, pos, pos + 1)
    scale_rows(buffer, inv, clip, scaled, pos + length, pos + length + 1)


class FusedDemandWindow(DemandWindow):
    """:class:`DemandWindow` whose :meth:`push` is one compiled call (same content).

    Args:
        n_apps: Number of applications.
        length: Ticks kept, >= 1.
    """

    def __init__(self, n_apps: int, length: int) -> None:
        super().__init__(n_apps, length)
        self._scaled = np.zeros((0, 2 * self.length, N_RESOURCES), dtype=np.float32)
        self._inv = np.zeros((0, N_RESOURCES))
        self._clip = np.float32(np.inf)

    def attach_scaled(self, inv: F64, clip: float) -> None:
        """Also keep the window scaled: ``min(float32(demand * inv), clip)`` per entry.

        Args:
            inv: ``(A, 4)`` factors (the observation's ``1 / ref``), fixed from now on.
            clip: Upper bound of a scaled value (the observation's ``value_clip``).
        """
        self._inv = np.ascontiguousarray(inv, dtype=np.float64)
        self._clip = np.float32(clip)
        self._scaled = np.zeros(self._buffer.shape, dtype=np.float32)
        scale_rows(self._buffer, self._inv, self._clip, self._scaled, 0, self._buffer.shape[1])

    def fill(self, history: F64) -> None:
        """Replace the content with the last ``length`` ticks of ``(A, T, 4)`` ``history``."""
        super().fill(history)
        scale_rows(self._buffer, self._inv, self._clip, self._scaled, 0, self._buffer.shape[1])

    def push(self, demand: F64) -> None:
        """Append one tick's ``(A, 4)`` demand, dropping the oldest when full."""
        if demand.shape != (self._buffer.shape[0], N_RESOURCES):
            super().push(demand)  # the reference's broadcasting (and its errors)
            scale_rows(self._buffer, self._inv, self._clip, self._scaled, 0, 2 * self.length)
            return
        push_scaled(
            self._buffer, demand, self._pos, self.length, self._inv, self._clip, self._scaled
        )
        self.advance()

    @property
    def scaled(self) -> bool:
        """Whether :meth:`attach_scaled` was called."""
        return self._scaled.shape[0] > 0

    def scaled_view(self) -> F32:
        """``(A, count, 4)`` the scaled window, oldest first (a view; do not modify)."""
        if self._count < self.length:
            return self._scaled[:, : self._count]
        return self._scaled[:, self._pos : self._pos + self.length]

    def scaled_parts(self) -> tuple[F64, np.float32, F32]:
        """The factors, the clip and the scaled buffer (empty when not attached), for fused
        callers of :func:`push_scaled`."""
        return self._inv, self._clip, self._scaled

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
