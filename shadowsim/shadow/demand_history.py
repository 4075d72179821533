"""The recent demand a shadow service keeps: a bounded, regularly ticked buffer.

Ticks are ``interval_s`` apart; tick ``i`` of the whole stream is at ``origin_s + i *
interval_s``. Only the last ``capacity`` ticks are kept; appending is amortised O(n_apps)
(the buffer is twice the capacity and compacted when full).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ForecastError
from shadowsim.resources import N_RESOURCES


class DemandHistory:
    """The last ``capacity`` ticks of demand of ``n_apps`` applications.

    Args:
        n_apps: Number of applications.
        capacity: Ticks kept (>= 1).
        interval_s: Tick length, s.
    """

    def __init__(self, n_apps: int, capacity: int, interval_s: float) -> None:
        if capacity < 1 or n_apps < 1:
            raise ForecastError(
                f"history needs n_apps >= 1 and capacity >= 1, got {n_apps}, {capacity}"
            )
        self.n_apps = int(n_apps)
        self.capacity = int(capacity)
        self.interval_s = float(interval_s)
        self._buf = np.zeros((self.n_apps, 2 * self.capacity, N_RESOURCES))
        self._lo = 0
        self._hi = 0
        self._first_s = 0.0  # time of the tick at self._lo

    def reset(self, demand: NDArray[np.float64], start_s: float) -> None:
        """Replace the content with ``demand`` ``(n_apps, n_ticks, 4)`` starting at ``start_s``."""
        if demand.ndim != 3 or demand.shape[0] != self.n_apps or demand.shape[2] != N_RESOURCES:
            raise ForecastError(
                f"history must have shape ({self.n_apps}, n_ticks, {N_RESOURCES}), "
                f"got {demand.shape}"
            )
        keep = demand[:, -self.capacity :]
        dropped = demand.shape[1] - keep.shape[1]
        self._buf[:, : keep.shape[1]] = keep
        self._lo, self._hi = 0, keep.shape[1]
        self._first_s = float(start_s) + dropped * self.interval_s

    def append(self, actual: NDArray[np.float64]) -> None:
        """Add one tick ``(n_apps, 4)`` after the last one."""
        if actual.shape != (self.n_apps, N_RESOURCES):
            raise ForecastError(
                f"actual demand must have shape ({self.n_apps}, {N_RESOURCES}), got {actual.shape}"
            )
        if not np.isfinite(actual).all():
            app, res = np.argwhere(~np.isfinite(actual))[0]
            raise ForecastError(
                f"demand of application {app}, resource {res} is not finite; fill gaps before "
                "feeding the shadow service"
            )
        if self._hi == self._buf.shape[1]:
            n = self._hi - self._lo
            self._buf[:, :n] = self._buf[:, self._lo : self._hi]
            self._lo, self._hi = 0, n
        self._buf[:, self._hi] = actual
        self._hi += 1
        if self._hi - self._lo > self.capacity:
            self._lo += 1
            self._first_s += self.interval_s

    @property
    def n_ticks(self) -> int:
        """Ticks held."""
        return self._hi - self._lo

    @property
    def next_s(self) -> float:
        """Time of the tick that :meth:`append` expects next, s."""
        return self._first_s + self.n_ticks * self.interval_s

    def recent(self, n_ticks: int | None = None) -> tuple[NDArray[np.float64], float]:
        """The last ``n_ticks`` (default all held) and the time of the first of them, s.

        The array is a read-only view; copy it before modifying.
        """
        n = self.n_ticks if n_ticks is None else min(int(n_ticks), self.n_ticks)
        view = self._buf[:, self._hi - n : self._hi]
        view.flags.writeable = False
        return view, self._first_s + (self.n_ticks - n) * self.interval_s
