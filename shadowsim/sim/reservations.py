"""What each host has reserved, for a :class:`~shadowsim.sim.simulator.Simulator`.

A host reserves, per resource, its components' reservations (the larger of allocation and
pending allocation while scaling is in flight), the capacity its spares hold, and the
allocation of components moving to it. The sum is cached until any part changes. The last
sum computed also bounds each host's summed allocation (a reservation is never below the
allocation; spares and moves only add) for as long as the allocation does not change: the
compiled accounting uses it to skip the contention sums when no host can be contended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from shadowsim.sim.simulator import Simulator


class HostReservations:
    """The ``(H, 4)`` reservations of a simulator's hosts, cached.

    Args:
        sim: The simulator whose hosts they are.
    """

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self._total: NDArray[np.float64] | None = None
        self._held: NDArray[np.float64] | None = None
        self._bound: tuple[NDArray[np.float64] | None, int] = (None, -1)
        self._alloc_version = 0

    def changed(self) -> None:
        """Some reservation changed: forget the sum."""
        self._total = None

    def pool_changed(self) -> None:
        """The spares changed: forget what they hold, and the sum."""
        self._held = None
        self._total = None

    def allocation_changed(self) -> None:
        """The allocation (or where components run) changed: forget the sum and the bound."""
        self._total = None
        self._alloc_version += 1

    def total(self) -> NDArray[np.float64]:
        """``(H, 4)`` capacity reserved per host: components, in-flight moves and spares."""
        if self._total is None:
            sim = self.sim
            total = np.bincount(
                sim.cells, weights=sim.reserve.ravel(), minlength=sim.host_limit.size
            ).reshape(sim.host_limit.shape)
            total += self.held()
            for move in sim.moves.active:
                total[move.destination] += move.reserved
            self._total = total
            self._bound = (total, self._alloc_version)
        return self._total

    def held(self) -> NDArray[np.float64]:
        """``(H, 4)`` capacity held by spares per host."""
        if self._held is None:
            self._held = self.sim.pool.held_by_host()
        return self._held

    def adopt(self, reserved: NDArray[np.float64]) -> None:
        """Take ``(H, 4)`` reservations of components and spares computed elsewhere (by a
        compiled snapshot, in :meth:`total`'s order), add the moves in flight, keep them."""
        for move in self.sim.moves.active:
            reserved[move.destination] += move.reserved
        self._total = reserved
        self._bound = (reserved, self._alloc_version)

    def allocation_bound(self) -> NDArray[np.float64] | None:
        """The last sum computed, while the allocation has not changed since (it bounds
        each host's summed allocation), else None."""
        bound, version = self._bound
        return bound if version == self._alloc_version else None
