"""Forecasts issued for future ticks, waiting to be scored when those ticks arrive.

Each tick the shadow service issues a forecast and keeps the entry for the tick
``accuracy_lead`` ahead; when that tick's demand arrives the entry is taken and scored. A
forecast re-issued for the same target (after a manual retrain) replaces the older one.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from numpy.typing import NDArray


class IssuedForecasts:
    """A queue of ``(target time, forecast)`` in increasing target time.

    Args:
        tolerance_s: Two times closer than this are the same tick, s.
    """

    def __init__(self, tolerance_s: float) -> None:
        self.tolerance_s = float(tolerance_s)
        self._queue: deque[tuple[float, NDArray[np.float64]]] = deque()

    def issue(self, target_s: float, forecast: NDArray[np.float64]) -> None:
        """Keep ``forecast`` (e.g. ``(n_apps, 4, n_quantiles)``) for the tick at ``target_s``."""
        if self._queue and abs(self._queue[-1][0] - target_s) < self.tolerance_s:
            self._queue.pop()
        self._queue.append((float(target_s), forecast))

    def take(self, now_s: float) -> NDArray[np.float64] | None:
        """The forecast issued for the tick at ``now_s`` (None if none); older ones are dropped."""
        while self._queue and self._queue[0][0] < now_s - self.tolerance_s:
            self._queue.popleft()
        if self._queue and abs(self._queue[0][0] - now_s) < self.tolerance_s:
            return self._queue.popleft()[1]
        return None

    def clear(self) -> None:
        """Forget every issued forecast."""
        self._queue.clear()

    def __len__(self) -> int:
        return len(self._queue)
