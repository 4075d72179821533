"""Per-application sums of a snapshot in one compiled pass: :class:`FusedComponentMap`.

:meth:`FusedComponentMap.app_allocation` sums the allocation in force and the pending
allocation over each application's components in one numba call (instead of two numpy
reductions), when every application has one or two contiguous components: then the sums
are the reference's bit for bit (one addition per entry, commutative). Other layouts use
:class:`~shadowsim.engine.component_map.ComponentMap` unchanged.

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import ClusterState
from shadowsim.engine.component_map import ComponentMap
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.jit import njit

F64 = NDArray[np.float64]


@njit
def _pair_sums(  # pragma: no cover - compiled
    allocation: F64, pending: F64, per_app: int, out: F64
) -> None:
    """``out[0]``, ``out[1]``: per-app sums of ``allocation`` and ``pending`` (1 or 2 each)."""
    for a in range(out.shape[1]):
        c = a * per_app
        for r in range(N_RESOURCES):
            if per_app == 2:
                out[0, a, r] = allocation[c, r] + allocation[c + 1, r]
                out[1, a, r] = pending[c, r] + pending[c + 1, r]
            else:
                out[0, a, r] = allocation[c, r]
                out[1, a, r] = pending[c, r]


class FusedComponentMap(ComponentMap):
    """:class:`ComponentMap` whose :meth:`app_allocation` is one compiled call."""

    def app_allocation(self, state: ClusterState) -> tuple[F64, F64]:
        """The ``(A, 4)`` allocation in force and pending allocation of ``state`` (cached)."""
        if state is self._cached_state:
            return self._cached
        if self._per_app not in (1, 2):
            return super().app_allocation(state)
        sums = np.empty((2, self.n_apps, N_RESOURCES))
        _pair_sums(state.allocation, state.pending_allocation, self._per_app, sums)
        return self.cache(state, sums)

    @property
    def per_app(self) -> int:
        """Components per application when every one has the same contiguous number, else 0."""
        return self._per_app

    def cache(self, state: ClusterState, sums: F64) -> tuple[F64, F64]:
        """Remember ``sums`` (``(2, A, 4)``, filled by :func:`_pair_sums`) as the per-app
        allocation and pending allocation of ``state``; returns them."""
        self._cached = (sums[0], sums[1])
        self._cached_state = state
        return self._cached
