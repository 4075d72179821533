"""Building the :class:`~shadowsim.cluster_state.ClusterState` a control tick reports.

Interval means are the ledger's sums divided by the number of ticks, computed in place in
the sums' own arrays (which are then handed out), so building a snapshot allocates little.
A snapshot owns its arrays, except those shared with later snapshots while unchanged
(placement, pool counts, host reservations, host capacity), which are read-only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import AppKpis, ClusterState, CostBreakdown
from shadowsim.resources import N_RESOURCES, Resource

if TYPE_CHECKING:
    from shadowsim.sim.simulator import Simulator


_TINY = 1e-300


def _frozen(*arrays: NDArray[np.generic]) -> None:
    for array in arrays:
        array.setflags(write=False)


class SnapshotBuilder:
    """Makes the snapshots of a :class:`Simulator`.

    Args:
        sim: The simulator observed.
    """

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        n_hosts = sim.host_limit.shape[0]
        self._host_used = np.zeros((n_hosts, N_RESOURCES))
        self._flushed: NDArray[np.float64] | None = None
        self._placement: tuple[NDArray[np.intp], NDArray[np.bool_], NDArray[np.bool_]] | None = None
        self._pool: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None

    def placement_changed(self) -> None:
        """Forget the cached placement arrays (call after hosts or move flags change)."""
        self._placement = None

    def pool_changed(self) -> None:
        """Forget the cached pool arrays (call after the pool changes)."""
        self._pool = None

    def _host_sum(self, per_component: NDArray[np.float64]) -> NDArray[np.float64]:
        sim = self.sim
        total = np.bincount(sim.cells, weights=per_component.ravel(), minlength=sim.host_limit.size)
        return total.reshape(sim.host_limit.shape)

    def flush_host_usage(self) -> None:
        """Attribute the usage served so far this interval to the current hosts.

        Called before a component changes host, so that host usage stays exact.
        """
        sums = self.sim.ledger.interval
        sums.settle()
        served = sums.served
        part = served if self._flushed is None else served - self._flushed
        self._host_used += self._host_sum(part)
        self._flushed = served.copy()

    def initial(self) -> ClusterState:
        """The snapshot before any tick: zero demand and usage, the initial allocation."""
        sim = self.sim
        n_comp = sim.layout.n_components
        n_apps = sim.workload.n_apps
        zeros_c = np.zeros((n_comp, N_RESOURCES))
        zeros_a = np.zeros((n_apps, N_RESOURCES))
        kpis = AppKpis(
            demand=zeros_a,
            served=zeros_a,
            throttled=zeros_a,
            dropped=zeros_a,
            response_time_s=np.zeros(n_apps),
            throughput_rps=np.zeros(n_apps),
            error_rate=np.zeros(n_apps),
            sla_violated=np.zeros(n_apps, dtype=np.bool_),
        )
        _frozen(zeros_c, zeros_a, kpis.response_time_s, kpis.throughput_rps, kpis.error_rate)
        _frozen(kpis.sla_violated)
        return self._state(
            -1, zeros_c, zeros_c, np.zeros((sim.host_limit.shape[0], 4)), kpis, CostBreakdown(), 0
        )

    def build(self) -> ClusterState:
        """Close the ledger's interval and report it."""
        sim = self.sim
        sums = sim.ledger.close_interval()
        demand, served = sums.demand, sums.served
        throttled, dropped = sums.throttled, sums.dropped
        response, lost = sums.response_s, sums.lost_throughput
        scale = 1.0
        if sums.ticks > 1:
            scale = 1.0 / sums.ticks
            for array in (demand, served, throttled, dropped, response, lost):
                array *= scale
        if self._flushed is None:
            host_used = self._host_sum(served)
        else:
            host_used = self._host_used * scale + self._host_sum(served - self._flushed * scale)
            self._host_used = np.zeros_like(self._host_used)
            self._flushed = None
        layout = sim.layout
        app_demand = layout.to_apps(demand)
        app_served = layout.to_apps(served)
        app_throttled = layout.to_apps(throttled)
        app_dropped = layout.to_apps(dropped)
        arrivals = app_demand[:, Resource.CPU] * (1.0 / sim.config.queue.request_cpu_s)
        throughput = arrivals - lost
        np.maximum(throughput, 0.0, out=throughput)  # rounding of sums over components
        error = np.maximum(arrivals, _TINY)  # lost is 0 where nothing arrives
        np.divide(lost, error, out=error)
        np.minimum(error, 1.0, out=error)
        violated = sums.violation_ticks > 0
        kpis = AppKpis(
            demand=app_demand,
            served=app_served,
            throttled=app_throttled,
            dropped=app_dropped,
            response_time_s=response,
            throughput_rps=throughput,
            error_rate=error,
            sla_violated=violated,
        )
        return self._state(
            sim.tick - 1, demand, served, host_used, kpis, sums.cost, sums.migrations
        )

    def _state(
        self,
        tick: int,
        demand: NDArray[np.float64],
        served: NDArray[np.float64],
        host_used: NDArray[np.float64],
        kpis: AppKpis,
        cost: CostBreakdown,
        migrations: int,
        allocation: NDArray[np.float64] | None = None,
        pending: NDArray[np.float64] | None = None,
    ) -> ClusterState:
        sim = self.sim
        allocation = sim.alloc.copy() if allocation is None else allocation
        pending = sim.pending.copy() if pending is None else pending
        reserved = sim.host_reserved()
        reserved.setflags(write=False)
        if self._placement is None:
            self._placement = (sim.host_of.copy(), sim.migrating.copy(), sim.on_spare.copy())
            _frozen(*self._placement)
        host_of, migrating, on_spare = self._placement
        if self._pool is None:
            self._pool = (sim.pool.counts(), sim.pool.target.copy())
            _frozen(*self._pool)
        pool_count, pool_target = self._pool
        return ClusterState.assemble(
            {
                "time_s": sim.now_s,
                "tick": tick,
                "demand": demand,
                "usage": served,
                "allocation": allocation,
                "pending_allocation": pending,
                "host_of": host_of,
                "migrating": migrating,
                "on_spare": on_spare,
                "host_capacity": sim.host_capacity,
                "host_allocated": reserved,
                "host_used": host_used,
                "pool_count": pool_count,
                "pool_target": pool_target,
                "kpis": kpis,
                "cost": cost,
                "cost_total": sim.ledger.totals.cost,
                "migrations": migrations,
            }
        )
