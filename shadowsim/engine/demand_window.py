"""A sliding window of the last ``length`` ticks of ``(A, 4)`` demand, O(1) per tick.

Each row is written twice into a buffer of ``2 * length`` ticks, so the window is always
one contiguous slice of it, oldest tick first, without copying on every push.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ShadowSimError
from shadowsim.resources import N_RESOURCES

F64 = NDArray[np.float64]


class DemandWindow:
    """The last ``length`` ticks of per-application demand.

    Args:
        n_apps: Number of applications.
        length: Ticks kept, >= 1.
    """

    def __init__(self, n_apps: int, length: int) -> None:
        if length < 1:
            raise ShadowSimError(f"a demand window needs length >= 1, got {length}")
        self.length = int(length)
        self._buffer = np.zeros((n_apps, 2 * self.length, N_RESOURCES))
        self._pos = 0
        self._count = 0

    def fill(self, history: F64) -> None:
        """Replace the content with the last ``length`` ticks of ``(A, T, 4)`` ``history``."""
        part = history[:, -self.length :]
        n = part.shape[1]
        self._buffer[:, :n] = part
        self._buffer[:, self.length : self.length + n] = part
        self._count = n
        self._pos = n % self.length

    def push(self, demand: F64) -> None:
        """Append one tick's ``(A, 4)`` demand, dropping the oldest when full."""
        self._buffer[:, self._pos] = demand
        self._buffer[:, self._pos + self.length] = demand
        self._pos = (self._pos + 1) % self.length
        if self._count < self.length:
            self._count += 1

    @property
    def count(self) -> int:
        """Ticks held (at most ``length``)."""
        return self._count

    def view(self) -> F64:
        """``(A, count, 4)`` the ticks held, oldest first (a view; do not modify)."""
        if self._count < self.length:
            return self._buffer[:, : self._count]
        return self._buffer[:, self._pos : self._pos + self.length]
