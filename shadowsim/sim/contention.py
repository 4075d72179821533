"""Contention on overcommitted hosts: high-priority work is served first.

A component never uses more than its (effective) allocation, so a host whose allocations
fit its capacity cannot be contended. With overcommit (allocations summing beyond a host's
capacity) the usage the components want, ``min(demand, allocation)``, may exceed what the
host has. Then, per host, resource and tick, the priority classes are served in turn from
HIGH to LOW: each class gets what is left, shared among its components in proportion to
what they want. Whatever a component is not served is unserved demand, handled by
:mod:`shadowsim.sim.kpis` like demand beyond its allocation.

Everything is vectorised: one ``np.bincount`` gives every host's total per resource and
tick, a second one the per-class totals, and one gather maps the served fractions back to
the components. No Python loop over VMs or hosts.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.resources import N_RESOURCES

_REL_TOL = 1e-12


class ContentionResolver:
    """Serves the usage wanted by components on hosts of limited capacity.

    Args:
        capacity: ``(H, 4)`` physical capacity of each host (vCPU, MiB, KB/s, KB/s).
        component_class: ``(C,)`` priority class of each component (0 = lowest).
        n_classes: Number of priority classes.
    """

    def __init__(
        self, capacity: NDArray[np.float64], component_class: NDArray[np.int8], n_classes: int
    ) -> None:
        self.capacity = capacity
        self.n_hosts = int(capacity.shape[0])
        self.n_classes = n_classes
        self._class = component_class.astype(np.intp)
        self.component_class = self._class
        self._n_components = int(component_class.shape[0])
        self._limit = capacity.ravel() * (1.0 + _REL_TOL)
        self._cell: NDArray[np.intp] = np.zeros(0, dtype=np.intp)
        self.host_of: NDArray[np.intp] = np.zeros(self._n_components, dtype=np.intp)
        self._block_cells: dict[int, NDArray[np.intp]] = {}
        self._block_class_cells: dict[int, NDArray[np.intp]] = {}
        self.set_hosts(np.zeros(self._n_components, dtype=np.intp))

    def set_hosts(self, host_of: NDArray[np.intp]) -> None:
        """Record where each component runs (call again after any move)."""
        self.host_of = np.array(host_of, dtype=np.intp)  # a copy: changes only here
        res = np.arange(N_RESOURCES, dtype=np.intp)
        self._cell = (host_of[:, None] * N_RESOURCES + res).ravel()
        self._block_cells.clear()
        self._block_class_cells.clear()

    def possible(self, allocation: NDArray[np.float64]) -> bool:
        """False when no host's summed allocation exceeds its capacity (so no contention)."""
        total = np.bincount(
            self._cell, weights=allocation.ravel(), minlength=self.n_hosts * N_RESOURCES
        )
        return bool((total > self._limit).any())

    def _cells(self, n_ticks: int) -> NDArray[np.intp]:
        cells = self._block_cells.get(n_ticks)
        if cells is None:
            per_tick = self.n_hosts * N_RESOURCES
            offsets = np.arange(n_ticks, dtype=np.intp)[:, None] * per_tick
            cells = (offsets + self._cell[None, :]).ravel()
            self._block_cells[n_ticks] = cells
        return cells

    def _class_cells(self, n_ticks: int) -> NDArray[np.intp]:
        cells = self._block_class_cells.get(n_ticks)
        if cells is None:
            cls = np.repeat(self._class, N_RESOURCES)
            cells = (self._cells(n_ticks).reshape(n_ticks, -1) * self.n_classes + cls).ravel()
            self._block_class_cells[n_ticks] = cells
        return cells

    def serve(self, wanted: NDArray[np.float64], served: NDArray[np.float64]) -> bool:
        """Write into ``served`` what each component gets of what it wants.

        Args:
            wanted: ``(T, C, 4)`` usage wanted per tick, component and resource.
            served: ``(T, C, 4)`` output buffer (may not alias ``wanted``).

        Returns:
            True when some host was contended in some tick of the block.
        """
        n_ticks = wanted.shape[0]
        per_tick = self.n_hosts * N_RESOURCES
        cells = self._cells(n_ticks)
        flat = wanted.reshape(-1)
        totals = np.bincount(cells, weights=flat, minlength=n_ticks * per_tick)
        totals = totals.reshape(n_ticks, self.n_hosts, N_RESOURCES)
        if not (totals > self.capacity * (1.0 + _REL_TOL)).any():
            np.copyto(served, wanted)
            return False
        class_cells = self._class_cells(n_ticks)
        by_class = np.bincount(
            class_cells, weights=flat, minlength=n_ticks * per_tick * self.n_classes
        ).reshape(n_ticks, self.n_hosts, N_RESOURCES, self.n_classes)
        fraction = np.ones_like(by_class)
        remaining = np.broadcast_to(self.capacity, totals.shape).copy()
        for cls in range(self.n_classes - 1, -1, -1):
            need = by_class[..., cls]
            short = need > remaining
            np.divide(remaining, need, out=fraction[..., cls], where=short)
            remaining -= need
            np.maximum(remaining, 0.0, out=remaining)
        factor = fraction.reshape(-1)[class_cells].reshape(wanted.shape)
        np.multiply(wanted, factor, out=served)
        return True
