"""KPI *estimates* for a live cluster: the simulator's queueing model on measured usage.

A hypervisor sees resource usage, not requests: response times and error rates of the
applications are not observable from libvirt. The adapter therefore estimates them with
the same model the simulator uses (:mod:`shadowsim.sim.kpis`, same :class:`QueueConfig`),
taking the measured usage of the interval as the demand:

* response time of a component: M/M/1 on its CPU allocation ``E``: utilisation
  ``rho = min(usage_cpu / E, max_utilisation)``, response ``request_cpu_s / (E (1 - rho))``,
  plus the wait of any throttled backlog, capped at ``timeout_s``;
* usage above the allocation (possible for an interval in which the allocation was lowered,
  or for memory when the guest uses more than its balloon target): for disk, network and CPU
  up to ``E * buffer_s / interval_s`` is throttled, the rest dropped; for memory all of it is
  dropped; error rate ``1 - prod_r (1 - dropped_r / usage_r)``;
* per application: share-weighted means of response time and error rate, summed
  throughput, SLA violated when either exceeds its target.

Demand beyond a VM's allocation cannot be measured (a VM cannot use more vCPUs than it has),
so a saturated VM shows as a utilisation at the cap, hence a long estimated response time:
these KPIs are estimates (:attr:`~shadowsim.live.backend.LibvirtBackend.kpis_are_estimates`).
Replace them with application metrics (e.g. from a load balancer) where available.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import AppKpis
from shadowsim.resources import Resource
from shadowsim.sim.kpis import QueueConfig

_TINY = 1e-12
_COMPRESSIBLE = np.array([r.compressible for r in Resource])


def estimate_kpis(
    usage: NDArray[np.float64],
    allocation: NDArray[np.float64],
    component_app: NDArray[np.intp],
    share: NDArray[np.float64],
    sla_response_s: NDArray[np.float64],
    sla_max_error_rate: NDArray[np.float64],
    queue: QueueConfig,
    interval_s: float,
) -> AppKpis:
    """Estimated per-application KPIs of one interval.

    Args:
        usage: ``(C, 4)`` measured usage (vCPU, MiB, KB/s, KB/s), taken as the demand.
        allocation: ``(C, 4)`` allocation in force during the interval.
        component_app: ``(C,)`` application of each component.
        share: ``(C,)`` share of each component in its application (sums to 1 per app).
        sla_response_s: ``(A,)`` response-time targets, s.
        sla_max_error_rate: ``(A,)`` highest tolerated error rates.
        queue: The queueing model.
        interval_s: Length of the interval, s.
    """
    n_apps = int(sla_response_s.shape[0])
    served = np.minimum(usage, allocation)
    unserved = usage - served
    buffer_ticks = np.where(_COMPRESSIBLE, queue.buffer_s / interval_s, 0.0)
    throttled = np.minimum(unserved, allocation * buffer_ticks)
    dropped = unserved - throttled
    cpu_alloc = np.maximum(allocation[:, Resource.CPU], _TINY)
    rho = np.minimum(usage[:, Resource.CPU] / cpu_alloc, queue.max_utilisation)
    response = queue.request_cpu_s / (cpu_alloc * (1.0 - rho))
    wait = np.where(
        _COMPRESSIBLE, throttled * (interval_s / 2.0) / np.maximum(allocation, _TINY), 0.0
    )
    response = np.minimum(response + wait.max(axis=1), queue.timeout_s)
    survive = 1.0 - dropped / np.maximum(usage, _TINY)
    error = 1.0 - np.prod(np.clip(survive, 0.0, 1.0), axis=1)

    def to_apps(values: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.zeros((n_apps, *values.shape[1:]))
        np.add.at(out, component_app, values)
        return out

    arrivals = usage[:, Resource.CPU] / queue.request_cpu_s
    app_response = to_apps(share * response)
    app_error = to_apps(share * error)
    throughput = to_apps(arrivals * (1.0 - error))
    violated = (app_response > sla_response_s) | (app_error > sla_max_error_rate)
    return AppKpis(
        demand=to_apps(usage),
        served=to_apps(served),
        throttled=to_apps(throttled),
        dropped=to_apps(dropped),
        response_time_s=app_response,
        throughput_rps=throughput,
        error_rate=app_error,
        sla_violated=violated,
    )
