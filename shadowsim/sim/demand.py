"""The demand feed: component demand in tick-major blocks, converted a chunk at a time.

The workload stores demand as ``(A, T, 4)``; the kernel wants ``(T, C, 4)`` so that one
tick of every component is contiguous. The feed converts a chunk of ticks at once (split
into components by their shares) and hands out views, so the conversion is amortised over
the chunk and memory stays bounded for long workloads.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.sim.components import ComponentLayout
from shadowsim.workloads.workload import Workload


class DemandFeed:
    """Blocks of component demand and application activity.

    Args:
        workload: The workload replayed.
        layout: Components of the applications.
        max_block: Longest block asked for.
        chunk_ticks: Ticks converted at once (at least ``max_block``).
    """

    def __init__(
        self, workload: Workload, layout: ComponentLayout, max_block: int, chunk_ticks: int = 256
    ) -> None:
        self.workload = workload
        self.layout = layout
        self.chunk = max(chunk_ticks, max_block)
        active = workload.active
        self._active = None if active is None or bool(active.all()) else active
        self._start = 0
        self._stop = 0
        self._buf: NDArray[np.float64] = np.empty((0, layout.n_components, 4))
        demand = workload.demand
        if demand.dtype != np.float64 or demand.strides[-1] != demand.itemsize:
            demand = np.ascontiguousarray(demand, dtype=np.float64)
        self._demand = demand
        self._shares = np.ascontiguousarray(layout.shares, dtype=np.float64)
        # one 4-float record per (app, tick); a view, also of a windowed workload
        self._records = demand.view(np.dtype((np.void, 8 * demand.shape[-1])))[..., 0]

    def _load(self, tick: int) -> None:
        stop = min(self.workload.n_ticks, tick + self.chunk)
        # transpose (A, T) of 4-float records: far faster than a float-wise transpose
        cells = np.ascontiguousarray(self._records[:, tick:stop].T)
        apps = cells.view(np.float64).reshape(stop - tick, -1, 4)
        if self.layout.per_app == 1:
            self._buf = apps
        else:
            share = self.layout.component_share[None, :, None]
            self._buf = apps[:, self.layout.component_app, :] * share
        self._start, self._stop = tick, stop

    def block(
        self, tick: int, n_ticks: int
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_] | None]:
        """Demand ``(n, C, 4)`` and activity ``(n, A)`` (None: all active) of ticks
        ``[tick, tick + n)``."""
        if tick < self._start or tick + n_ticks > self._stop:
            self._load(tick)
        offset = tick - self._start
        demand = self._buf[offset : offset + n_ticks]
        active = None if self._active is None else self._active[:, tick : tick + n_ticks].T
        return demand, active
