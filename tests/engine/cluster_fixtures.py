"""Hand-built ClusterSpec / ClusterState objects for the engine and metrics tests (not a conftest).

Every array is given explicitly so that expected values can be computed by hand.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import AppKpis, ClusterSpec, ClusterState, CostBreakdown
from shadowsim.readiness import N_READINESS
from shadowsim.workloads.workload import Priority

F64 = NDArray[np.float64]


def make_spec(
    priorities: tuple[Priority, ...] = (Priority.LOW, Priority.MEDIUM, Priority.HIGH),
    per_app: int = 2,
    n_hosts: int = 2,
    host_capacity: tuple[float, float, float, float] = (16.0, 65536.0, 1e5, 1e5),
    interval_s: float = 300.0,
) -> ClusterSpec:
    """Apps with ``per_app`` components each (first one critical), equal shares."""
    n_apps = len(priorities)
    component_app = np.repeat(np.arange(n_apps), per_app).astype(np.intp)
    critical = np.zeros(n_apps * per_app, dtype=bool)
    critical[::per_app] = True
    return ClusterSpec(
        app_ids=tuple(f"app{i}" for i in range(n_apps)),
        priority=np.array([int(p) for p in priorities], dtype=np.int8),
        sla_response_s=np.full(n_apps, 0.5),
        sla_max_error_rate=np.full(n_apps, 0.01),
        component_app=component_app,
        component_share=np.full(n_apps * per_app, 1.0 / per_app),
        component_critical=critical,
        host_capacity=np.tile(np.asarray(host_capacity, dtype=np.float64), (n_hosts, 1)),
        interval_s=interval_s,
    )


def make_state(
    spec: ClusterSpec,
    *,
    app_allocation: F64,
    app_pending: F64 | None = None,
    app_demand: F64 | None = None,
    app_served: F64 | None = None,
    host_of: NDArray[np.intp] | None = None,
    host_allocated: F64 | None = None,
    time_s: float = 0.0,
    tick: int = 0,
    response_time_s: F64 | None = None,
    sla_violated: NDArray[np.bool_] | None = None,
    cost: CostBreakdown | None = None,
    migrations: int = 0,
    pool_count: tuple[int, ...] = (0,) * N_READINESS,
    pool_target: tuple[int, ...] = (0,) * N_READINESS,
    migrating: NDArray[np.bool_] | None = None,
    on_spare: NDArray[np.bool_] | None = None,
    throughput_rps: F64 | None = None,
) -> ClusterState:
    """A snapshot from per-application arrays, spread over components by share."""
    share = spec.component_share[:, None]
    app = spec.component_app
    n_c, n_h = spec.n_components, spec.n_hosts
    pending = app_allocation if app_pending is None else app_pending
    demand = np.zeros_like(app_allocation) if app_demand is None else app_demand
    served = np.minimum(demand, app_allocation) if app_served is None else app_served
    if host_of is None:
        host_of = (np.arange(n_c) % n_h).astype(np.intp)
    comp_alloc = app_allocation[app] * share
    if host_allocated is None:
        host_allocated = np.zeros((n_h, 4))
        np.add.at(host_allocated, host_of, comp_alloc)
    host_used = np.zeros((n_h, 4))
    np.add.at(host_used, host_of, served[app] * share)
    n_apps = spec.n_apps
    unserved = demand - served
    kpis = AppKpis(
        demand=demand,
        served=served,
        throttled=unserved * np.array([1.0, 0.0, 1.0, 1.0]),
        dropped=unserved * np.array([0.0, 1.0, 0.0, 0.0]),
        response_time_s=np.full(n_apps, 0.1) if response_time_s is None else response_time_s,
        throughput_rps=np.full(n_apps, 10.0) if throughput_rps is None else throughput_rps,
        error_rate=np.zeros(n_apps),
        sla_violated=np.zeros(n_apps, bool) if sla_violated is None else sla_violated,
    )
    return ClusterState(
        time_s=time_s,
        tick=tick,
        demand=demand[app] * share,
        usage=served[app] * share,
        allocation=comp_alloc,
        pending_allocation=pending[app] * share,
        host_of=host_of,
        migrating=np.zeros(n_c, bool) if migrating is None else migrating,
        on_spare=np.zeros(n_c, bool) if on_spare is None else on_spare,
        host_capacity=spec.host_capacity.copy(),
        host_allocated=host_allocated,
        host_used=host_used,
        pool_count=np.asarray(pool_count, dtype=np.int64),
        pool_target=np.asarray(pool_target, dtype=np.int64),
        kpis=kpis,
        cost=cost or CostBreakdown(),
        cost_total=cost or CostBreakdown(),
        migrations=migrations,
    )


def app_array(rows: list[list[float]]) -> F64:
    """An ``(A, 4)`` float64 array."""
    return np.asarray(rows, dtype=np.float64)
