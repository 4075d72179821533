"""The demand feed (:mod:`shadowsim.sim.demand`) with its tick-major conversion compiled.

:class:`FusedDemandFeed` converts a chunk of the workload's ``(A, T, 4)`` demand into the
kernel's ``(T, C, 4)`` layout (split into components by their shares) in one compiled,
cache-friendly pass (applications in tiles, ticks inside), instead of a strided numpy
transpose and a gather. Same values: the split is the same multiplication.

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.sim.demand import DemandFeed
from shadowsim.sim.jit import njit

_TILE = 64  # applications per tile: their rows of a few ticks stay in cache


@njit
def _convert(  # pragma: no cover - compiled
    demand: NDArray[np.float64],
    start: int,
    shares: NDArray[np.float64],
    out: NDArray[np.float64],
) -> None:
    """``out[t, a * k + j, r] = demand[a, start + t, r] * shares[j]`` (no product if k = 1)."""
    n_apps = demand.shape[0]
    n_ticks = out.shape[0]
    k = shares.shape[0]
    for first in range(0, n_apps, _TILE):
        last = min(first + _TILE, n_apps)
        for t in range(n_ticks):
            for a in range(first, last):
                for r in range(4):
                    value = demand[a, start + t, r]
                    if k == 1:
                        out[t, a, r] = value
                    else:
                        for j in range(k):
                            out[t, a * k + j, r] = value * shares[j]


class FusedDemandFeed(DemandFeed):
    """A :class:`~shadowsim.sim.demand.DemandFeed` whose conversion is compiled.

    Same arguments as the reference. Unshared chunks are converted into two buffers used in
    turn: a block stays valid until the chunk after next is loaded.
    """

    kind = "compiled"
    _spare: NDArray[np.float64] | None = None  # the other chunk buffer (set by _chunk)
    _filled: NDArray[np.float64] | None = None  # the buffer of the current chunk

    def transpose(self, source: NDArray[np.float64], start: int, stop: int) -> NDArray[np.float64]:
        """As the reference's, in one compiled pass."""
        out = np.empty((stop - start, self.layout.n_components, 4))
        _convert(source, start, self._shares, out)
        return out

    def _chunk(self, start: int, stop: int) -> NDArray[np.float64]:
        """Converted into one of two buffers used in turn (a view of it is handed out): the
        blocks of the last chunk keep their values, and no fresh memory (page faults) per
        chunk."""
        spare = self._spare
        if spare is None or spare.shape[0] < stop - start:
            spare = np.empty((self.chunk, self.layout.n_components, 4))
        filled = self._filled
        self._spare = filled if filled is not None and filled.shape[0] == self.chunk else None
        self._filled = spare
        out = spare[: stop - start]
        _convert(self._demand, start, self._shares, out)
        return out
