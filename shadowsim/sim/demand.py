"""The demand feed: component demand in tick-major blocks, converted a chunk at a time.

The workload stores demand as ``(A, T, 4)``; the kernel wants ``(T, C, 4)`` so that one
tick of every component is contiguous. Where it can, the feed slices a tick-major copy of the
whole demand made once and shared by every feed over it (:mod:`shadowsim.sim.demand_store`:
read-only demand, copy within a size limit); otherwise it converts a chunk of ticks at once
(split into components by their shares) and hands out views, so the conversion is amortised
over the chunk and memory stays bounded for long workloads.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.sim.components import ComponentLayout
from shadowsim.sim.demand_store import shared_tick_major
from shadowsim.workloads.workload import Workload


class DemandFeed:
    """Blocks of component demand and application activity.

    Args:
        workload: The workload replayed.
        layout: Components of the applications.
        max_block: Longest block asked for.
        chunk_ticks: Ticks converted at once (at least ``max_block``) when the demand is
            not shared.
        share: Use the shared tick-major copy when the demand allows one (see
            :mod:`shadowsim.sim.demand_store`); False: always convert chunks.

    Attributes:
        shared: True when the blocks are slices of the shared copy.
    """

    kind = "numpy"
    """Names the conversion in the shared store (each kind makes its own copy)."""

    def __init__(
        self,
        workload: Workload,
        layout: ComponentLayout,
        max_block: int,
        chunk_ticks: int = 256,
        *,
        share: bool = True,
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
        found = None
        if share:
            found = shared_tick_major(demand, self._shares, self.kind, self.transpose)
        self.shared = found is not None
        if found is not None:  # one "chunk" that holds every tick
            copy, start = found
            self._buf = copy[start : start + workload.n_ticks]
            self._start, self._stop = 0, workload.n_ticks

    def transpose(self, source: NDArray[np.float64], start: int, stop: int) -> NDArray[np.float64]:
        """Ticks ``[start, stop)`` of ``(A, T, 4)`` ``source`` as ``(stop - start, C, 4)``
        component demand (split by the layout's shares)."""
        # transpose (A, T) of 4-float records: far faster than a float-wise transpose
        records = source.view(np.dtype((np.void, 8 * source.shape[-1])))[..., 0]
        cells = np.ascontiguousarray(records[:, start:stop].T)
        apps = cells.view(np.float64).reshape(stop - start, -1, 4)
        if self.layout.per_app == 1:
            return apps
        share = self.layout.component_share[None, :, None]
        result: NDArray[np.float64] = apps[:, self.layout.component_app, :] * share
        return result

    def _load(self, tick: int) -> None:
        stop = min(self.workload.n_ticks, tick + self.chunk)
        self._buf = self._chunk(tick, stop)
        self._buf.setflags(write=False)  # blocks are read-only, shared or not
        self._start, self._stop = tick, stop

    def _chunk(self, start: int, stop: int) -> NDArray[np.float64]:
        """Ticks ``[start, stop)`` of the workload's demand, tick-major (unshared path)."""
        return self.transpose(self._demand, start, stop)

    def block(
        self, tick: int, n_ticks: int
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_] | None]:
        """Demand ``(n, C, 4)`` (read-only) and activity ``(n, A)`` (None: all active) of
        ticks ``[tick, tick + n)``."""
        if tick < self._start or tick + n_ticks > self._stop:
            self._load(tick)
        offset = tick - self._start
        demand = self._buf[offset : offset + n_ticks]
        active = None if self._active is None else self._active[:, tick : tick + n_ticks].T
        return demand, active
