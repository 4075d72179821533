"""What a backend reports: the static :class:`ClusterSpec` and the per-tick :class:`ClusterState`.

Arrays are indexed by component (``C``), application (``A``), host (``H``), resource (4)
and readiness state (``S``). Units follow :mod:`shadowsim.resources`; times are in s and
money in abstract cost units (cu).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, eq=False)
class ClusterSpec:
    """The parts of a cluster that do not change during an episode.

    Attributes:
        app_ids: ``(A,)`` application ids.
        priority: ``(A,)`` :class:`~shadowsim.workloads.workload.Priority` values.
        sla_response_s: ``(A,)`` response-time target, s.
        sla_max_error_rate: ``(A,)`` highest tolerated error rate.
        component_app: ``(C,)`` application index of each component.
        component_share: ``(C,)`` share of its application's demand each component carries.
        component_critical: ``(C,)`` True for components that must never be moved out.
        host_capacity: ``(H, 4)`` capacity of each host.
        interval_s: Control interval: time between two decisions, s.
    """

    app_ids: tuple[str, ...]
    priority: NDArray[np.int8]
    sla_response_s: NDArray[np.float64]
    sla_max_error_rate: NDArray[np.float64]
    component_app: NDArray[np.intp]
    component_share: NDArray[np.float64]
    component_critical: NDArray[np.bool_]
    host_capacity: NDArray[np.float64]
    interval_s: float

    @property
    def n_apps(self) -> int:
        """Number of applications."""
        return len(self.app_ids)

    @property
    def n_components(self) -> int:
        """Number of components."""
        return int(self.component_app.shape[0])

    @property
    def n_hosts(self) -> int:
        """Number of hosts."""
        return int(self.host_capacity.shape[0])


@dataclass(frozen=True, eq=False)
class AppKpis:
    """Per-application KPIs over the last control interval.

    Attributes:
        demand: ``(A, 4)`` mean demand.
        served: ``(A, 4)`` mean served demand.
        throttled: ``(A, 4)`` demand delayed by throttling (compressible resources).
        dropped: ``(A, 4)`` demand that failed (memory beyond allocation, queue overflow).
        response_time_s: ``(A,)`` mean response time, s.
        throughput_rps: ``(A,)`` served requests per s.
        error_rate: ``(A,)`` share of requests that failed.
        sla_violated: ``(A,)`` True when response time or error rate broke the SLA.
    """

    demand: NDArray[np.float64]
    served: NDArray[np.float64]
    throttled: NDArray[np.float64]
    dropped: NDArray[np.float64]
    response_time_s: NDArray[np.float64]
    throughput_rps: NDArray[np.float64]
    error_rate: NDArray[np.float64]
    sla_violated: NDArray[np.bool_]

    def copy(self) -> AppKpis:
        """A copy owning its arrays."""
        return AppKpis(**{f.name: getattr(self, f.name).copy() for f in fields(self)})


@dataclass(frozen=True)
class CostBreakdown:
    """Costs in cost units (cu), either for one interval or cumulative.

    Attributes:
        allocation: Allocated resource-hours times their prices.
        pool: Holding cost of the spare pool.
        migration: Migrations and shifts to spares.
    """

    allocation: float = 0.0
    pool: float = 0.0
    migration: float = 0.0

    @classmethod
    def assemble(cls, allocation: float, pool: float, migration: float) -> CostBreakdown:
        """The same object as the constructor makes (which checks nothing), without running
        ``__init__``: for backends that make one per control tick."""
        cost = object.__new__(cls)
        cost.__dict__.update(allocation=allocation, pool=pool, migration=migration)
        return cost

    @property
    def total(self) -> float:
        """Sum of all terms, cu."""
        return self.allocation + self.pool + self.migration


@dataclass(frozen=True, eq=False)
class ClusterState:
    """A snapshot of the cluster at one control tick.

    A backend may hand out snapshots whose arrays are views of its own buffers, valid
    until its next ``advance()`` (the simulator does: it reuses two sets of buffers, so a
    control tick allocates nothing); :meth:`copy` makes one that stays valid. Arrays that
    did not change since the last snapshot (placement, pool, host capacity) may be
    shared between snapshots; they are read-only.

    Attributes:
        time_s: Backend time of the snapshot, s.
        tick: Index of the workload tick just accounted.
        demand: ``(C, 4)`` demand of each component over the last interval (on a live
            backend, measured usage; demand beyond allocation is not observable there).
        usage: ``(C, 4)`` served usage over the last interval.
        allocation: ``(C, 4)`` allocation in force now.
        pending_allocation: ``(C, 4)`` allocation once in-flight scaling has landed.
        host_of: ``(C,)`` host index each component runs on.
        migrating: ``(C,)`` True while a component migrates or shifts to a spare.
        on_spare: ``(C,)`` True for components that run on an activated spare VM.
        host_capacity: ``(H, 4)`` capacity of each host.
        host_allocated: ``(H, 4)`` sum of allocations (components and spares) per host.
        host_used: ``(H, 4)`` served usage per host.
        pool_count: ``(S,)`` spare VMs per readiness state (ready ones).
        pool_target: ``(S,)`` the target the pool converges to.
        kpis: Per-application KPIs over the last interval.
        cost: Costs over the last interval.
        cost_total: Cumulative costs since the episode began.
        migrations: Number of migrations and shifts started during the last interval.
    """

    time_s: float
    tick: int
    demand: NDArray[np.float64]
    usage: NDArray[np.float64]
    allocation: NDArray[np.float64]
    pending_allocation: NDArray[np.float64]
    host_of: NDArray[np.intp]
    migrating: NDArray[np.bool_]
    on_spare: NDArray[np.bool_]
    host_capacity: NDArray[np.float64]
    host_allocated: NDArray[np.float64]
    host_used: NDArray[np.float64]
    pool_count: NDArray[np.int64]
    pool_target: NDArray[np.int64]
    kpis: AppKpis
    cost: CostBreakdown
    cost_total: CostBreakdown
    migrations: int

    @classmethod
    def assemble(cls, values: dict[str, object]) -> ClusterState:
        """A snapshot from a value for every field, without running ``__init__``.

        The same object as ``ClusterState(**values)`` (the dataclass checks nothing), made
        in a quarter of the time: for backends that make one per control tick.
        """
        state = object.__new__(cls)
        state.__dict__.update(values)
        return state

    def copy(self) -> ClusterState:
        """A copy owning its arrays (valid after the backend advances)."""
        arrays = {
            f.name: getattr(self, f.name).copy()
            for f in fields(self)
            if isinstance(getattr(self, f.name), np.ndarray)
        }
        return replace(self, kpis=self.kpis.copy(), **arrays)

    def app_sum(self, per_component: NDArray[np.float64], spec: ClusterSpec) -> NDArray[np.float64]:
        """Sum a ``(C, 4)`` array over each application's components into ``(A, 4)``."""
        out = np.zeros((spec.n_apps, per_component.shape[1]))
        np.add.at(out, spec.component_app, per_component)
        return out
