"""Building the :class:`~shadowsim.cluster_state.ClusterState` a live tick reports.

Every array of a snapshot is read-only. ``demand`` is the measured usage (demand beyond an
allocation is not observable on a hypervisor), ``pending_allocation`` is ``allocation`` with
the memory targets the guests have not reached yet (:mod:`shadowsim.live.balloon`; other
changes land when the libvirt call returns), ``migrating`` is all False (migrations block
until done), and the KPIs are estimates (:mod:`shadowsim.live.kpi_estimate`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import ClusterState
from shadowsim.live.kpi_estimate import estimate_kpis
from shadowsim.resources import N_RESOURCES

if TYPE_CHECKING:
    from shadowsim.live.backend import LibvirtBackend


def frozen(array: NDArray[Any]) -> NDArray[Any]:
    """``array``, made read-only."""
    array.setflags(write=False)
    return array


def snapshot(
    backend: LibvirtBackend,
    usage: NDArray[np.float64],
    *,
    estimate: bool,
    in_force: NDArray[np.float64] | None = None,
) -> ClusterState:
    """The snapshot of the interval that just ended (or the initial one: ``estimate=False``).

    Args:
        backend: The backend reported on.
        usage: ``(C, 4)`` usage measured over the interval.
        estimate: False for the initial snapshot (nothing measured: no KPI estimate).
        in_force: ``(C, 4)`` allocation in force during the interval (default: the current).
    """
    spec = backend.spec
    kpis = estimate_kpis(
        usage,
        backend.allocation if in_force is None else in_force,
        spec.component_app,
        spec.component_share,
        spec.sla_response_s,
        spec.sla_max_error_rate,
        backend.config.queue,
        backend.config.interval_s,
    )
    if not estimate:  # before any interval: nothing measured, nothing violated
        kpis.response_time_s[:] = 0.0
        kpis.sla_violated[:] = False
    host_used = np.zeros((backend.hosts.n_hosts, N_RESOURCES))
    np.add.at(host_used, backend.host_of, usage)
    allocation = backend.allocation.copy()
    for array in (kpis.demand, kpis.served, kpis.throttled, kpis.dropped):
        frozen(array)
    for vector in (kpis.response_time_s, kpis.throughput_rps, kpis.error_rate):
        frozen(vector)
    frozen(kpis.sla_violated)
    return ClusterState(
        time_s=backend.now_s,
        tick=backend.tick,
        demand=frozen(usage),
        usage=usage,
        allocation=frozen(allocation),
        pending_allocation=frozen(backend.pending.copy()),
        host_of=frozen(backend.host_of.copy()),
        migrating=frozen(np.zeros(len(backend.domains), dtype=np.bool_)),
        on_spare=frozen(backend.on_spare.copy()),
        host_capacity=backend.hosts.capacity,
        host_allocated=frozen(backend.host_allocated()),
        host_used=frozen(host_used),
        pool_count=frozen(backend.pool.counts()),
        pool_target=frozen(backend.pool.target.copy()),
        kpis=kpis,
        cost=backend.costs.interval,
        cost_total=backend.costs.total,
        migrations=backend.costs.migrations,
    )
