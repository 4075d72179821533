"""Per-tick KPIs of every component, vectorised over a block of ticks.

For a block of ``T`` ticks with constant allocations the kernel computes, per tick,
component and resource (arrays ``(T, C, 4)``):

* effective allocation ``E``: the allocation, times the service factor of outages
  (migration degradation and downtime, host failures) for the compressible resources;
* wanted usage ``min(demand, E)``, then served usage after host contention
  (:mod:`shadowsim.sim.contention`);
* unserved = demand - served. For compressible resources (CPU, disk, network) up to
  ``E * buffer_s / interval_s`` is throttled (queued, completed late) and the rest is
  dropped; for memory all of it is dropped (memory beyond allocation fails). Hence
  ``served + throttled + dropped == demand`` exactly.

and per tick and component ``(T, C)``:

* error rate ``1 - prod_r (1 - dropped_r / demand_r)``: a request fails when any resource
  it needs was dropped, resources independently;
* response time from an M/M/1 queue whose server is the component's CPU allocation: a
  request needs ``request_cpu_s`` vCPU·s, the service rate is ``E_cpu / request_cpu_s``
  requests/s, utilisation ``rho = min(demand_cpu / E_cpu, max_utilisation)``, response
  ``request_cpu_s / (E_cpu (1 - rho))``; plus the mean wait of the throttled backlog,
  ``throttled_r * interval_s / (2 E_r)`` (a backlog growing linearly over the tick and
  drained at the allocated rate), the largest over the compressible resources; capped at
  ``timeout_s``;
* throughput ``demand_cpu / request_cpu_s * (1 - error rate)`` requests/s, kept as the
  arrival rate minus the lost rate ``demand_cpu * error_rate / request_cpu_s``.

Demand rarely exceeds allocation for most VMs, so the kernel finds the few
(tick, component, resource) entries with unserved demand (one comparison and one
``flatnonzero``) and computes throttling, drops, errors and backlog waits on those only;
the dense work per tick is a handful of ufuncs over all VMs.

Per application ``(T, A)``: response time and error rate are the share-weighted means of
its components (components serve their share of the requests in parallel); throughput is
their sum. An SLA violation is a tick whose response time or error rate exceeds the
application's target (only ticks where the application is active count).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ConfigError
from shadowsim.resources import N_RESOURCES, Resource
from shadowsim.sim.checks import check_fraction, check_non_negative, check_positive
from shadowsim.sim.components import ComponentLayout
from shadowsim.sim.contention import ContentionResolver
from shadowsim.sim.ledger import IntervalSums

_TINY = 1e-12
_COMPRESSIBLE = np.array([r.compressible for r in Resource])


@dataclass(frozen=True)
class QueueConfig:
    """The queueing model behind response time, throttling and drops.

    Attributes:
        request_cpu_s: CPU work of one request, vCPU·s (> 0); sets request rates.
        buffer_s: Queue depth, in seconds of allocated service: unserved demand of a
            compressible resource up to ``allocation * buffer_s / interval_s`` is throttled
            (completes late), the rest is dropped. 0 drops everything unserved.
        max_utilisation: Cap of the M/M/1 utilisation, in (0, 1).
        timeout_s: Response times are capped at this many seconds (> 0).
    """

    request_cpu_s: float = 0.01
    buffer_s: float = 60.0
    max_utilisation: float = 0.99
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        check_positive("cluster.queue.request_cpu_s", self.request_cpu_s)
        check_non_negative("cluster.queue.buffer_s", self.buffer_s)
        rho = check_fraction("cluster.queue.max_utilisation", self.max_utilisation, open_low=True)
        if rho >= 1.0:
            raise ConfigError("cluster.queue.max_utilisation", f"must be < 1, got {rho}")
        check_positive("cluster.queue.timeout_s", self.timeout_s)


class KpiKernel:
    """Accounts blocks of ticks into a :class:`~shadowsim.sim.ledger.IntervalSums`.

    Two paths give identical figures for single ticks: a dense one over every entry, and a
    sparse one over the entries with unserved demand only. The kernel takes the dense path
    while more than one entry in ``_DENSE_SHARE`` was unserved in the previous block.

    Args:
        config: The queueing model.
        layout: Components of the applications.
        interval_s: Tick length, s.
        sla_response_s: ``(A,)`` response-time targets, s.
        sla_max_error_rate: ``(A,)`` highest tolerated error rates.
        contention: Resolver of host contention.
        max_block: Largest block of ticks accounted at once.
    """

    _DENSE_SHARE = 16

    def __init__(
        self,
        config: QueueConfig,
        layout: ComponentLayout,
        interval_s: float,
        sla_response_s: NDArray[np.float64],
        sla_max_error_rate: NDArray[np.float64],
        contention: ContentionResolver,
        max_block: int,
    ) -> None:
        self.config = config
        self.layout = layout
        self.interval_s = interval_s
        self.sla_response_s = sla_response_s
        self.sla_max_error_rate = sla_max_error_rate
        self.contention = contention
        self.max_block = max_block
        n_comp = layout.n_components
        n_apps = int(sla_response_s.shape[0])
        self.n_components = n_comp
        self.n_apps = n_apps
        full = (max_block, n_comp, N_RESOURCES)
        self._wanted = np.empty(full)
        self._served = np.empty(full)
        self._unserved = np.empty(full)
        self._throttled = np.empty(full)
        self._dropped = np.empty(full)
        self._scratch = np.empty(full)
        self._over = np.empty(full, dtype=np.bool_)
        per_comp = (max_block, n_comp)
        self._resp = np.empty(per_comp)
        self._survive = np.ones(max_block * n_comp)
        self._wait = np.zeros(max_block * n_comp)
        self._err = np.empty(per_comp)
        self._tmp = np.empty(per_comp)
        self._violation = np.empty((max_block, n_apps), dtype=np.bool_)
        self._app_error = np.zeros(max_block * n_apps)
        self._buffer_ticks = np.where(_COMPRESSIBLE, config.buffer_s / interval_s, 0.0)
        self._half_tick = np.where(_COMPRESSIBLE, interval_s / 2.0, 0.0)
        self._half_tiled = np.tile(self._half_tick, (n_comp, 1))
        self._buffer_tiled = np.tile(self._buffer_ticks, (n_comp, 1))
        self._inv_rate = 1.0 / config.request_cpu_s
        self._allocation = np.zeros((n_comp, N_RESOURCES))
        self._buffer = np.zeros((n_comp, N_RESOURCES))
        self._wait_factor = np.zeros((n_comp, N_RESOURCES))
        self._inv_cpu = np.zeros(n_comp)
        self._base = np.zeros(n_comp)
        self._dense = False
        self._derived_stale = True
        self.contention_possible = False
        self.set_allocation(self._allocation, check_contention=True)

    def set_allocation(self, allocation: NDArray[np.float64], *, check_contention: bool) -> None:
        """Cache what depends only on the allocation (call after every change).

        Args:
            allocation: ``(C, 4)`` allocation in force (kept by reference).
            check_contention: False when no host can be overcommitted (no overcommit
                configured), which skips the host sums.
        """
        self._allocation = allocation
        self._derived_stale = True  # queue limit and wait factor: made when the dense path needs
        cpu = allocation[:, Resource.CPU]
        np.maximum(cpu, _TINY, out=self._inv_cpu)
        np.divide(1.0, self._inv_cpu, out=self._inv_cpu)
        np.multiply(self._inv_cpu, self.config.request_cpu_s, out=self._base)
        self.contention_possible = check_contention and self.contention.possible(allocation)

    def _derive(
        self, eff: NDArray[np.float64], buffer: NDArray[np.float64], wait: NDArray[np.float64]
    ) -> None:
        """Queue limit ``eff * buffer_ticks`` and backlog-wait factor ``half_tick / eff``."""
        np.multiply(eff, self._buffer_tiled if eff.ndim == 2 else self._buffer_ticks, out=buffer)
        np.maximum(eff, _TINY, out=wait)
        np.divide(self._half_tiled if eff.ndim == 2 else self._half_tick, wait, out=wait)

    def account(
        self,
        demand: NDArray[np.float64],
        service: NDArray[np.float64] | None,
        active: NDArray[np.bool_] | None,
        sums: IntervalSums,
    ) -> None:
        """Account ``T`` ticks of ``demand`` into ``sums``.

        Args:
            demand: ``(T, C, 4)`` component demand, T <= ``max_block``.
            service: ``(T, C)`` service factor in [0, 1] of each component's compressible
                resources (outages), or None when every component is fully available.
            active: ``(T, A)`` True where the application exists, or None for always.
            sums: The interval sums to add to.
        """
        sums.settle()
        cfg = self.config
        n = demand.shape[0]
        if service is None:
            eff: NDArray[np.float64] = self._allocation
            inv_cpu, base = self._inv_cpu, self._base
            if self._dense and self._derived_stale:
                self._derive(eff, self._buffer, self._wait_factor)
                self._derived_stale = False
            buffer, wait_factor = self._buffer, self._wait_factor
        else:
            eff = np.broadcast_to(self._allocation, demand.shape).copy()
            eff[..., _COMPRESSIBLE] *= service[..., None]
            inv_cpu = 1.0 / np.maximum(eff[..., Resource.CPU], _TINY)
            base = inv_cpu * cfg.request_cpu_s
            buffer, wait_factor = np.empty_like(eff), np.empty_like(eff)
            self._derive(eff, buffer, wait_factor)
        # unserved demand: beyond the (effective) allocation, or lost to contention
        unserved: NDArray[np.float64] | None = None
        if self.contention_possible:
            wanted = np.minimum(demand, eff, out=self._wanted[:n])
            served = self._served[:n]
            if self.contention.serve(wanted, served):
                unserved = np.subtract(demand, served, out=self._unserved[:n])
        if unserved is None and self._dense:
            unserved = np.subtract(demand, eff, out=self._unserved[:n])
            np.maximum(unserved, 0.0, out=unserved)

        # response time: M/M/1 on the CPU allocation
        demand_cpu = demand[..., Resource.CPU]
        resp = np.multiply(demand_cpu, inv_cpu, out=self._resp[:n])
        np.minimum(resp, cfg.max_utilisation, out=resp)
        np.subtract(1.0, resp, out=resp)
        np.divide(base, resp, out=resp)
        if n == 1:
            sums.demand += demand[0]
            sums.served += demand[0]
        else:
            total = demand.sum(axis=0)
            sums.demand += total
            sums.served += total

        errors: tuple[NDArray[np.intp], NDArray[np.float64]] | NDArray[np.float64] | None
        if self._dense and unserved is not None:
            errors = self._dense_unserved(demand, unserved, buffer, wait_factor, resp, sums)
        else:
            if unserved is not None:
                over = np.greater(unserved, 0.0, out=self._over[:n])
            else:
                over = np.greater(demand, eff, out=self._over[:n])
            idx = np.flatnonzero(over)
            self._dense = idx.size * self._DENSE_SHARE > over.size
            errors = None
            if idx.size:
                errors = self._sparse_unserved(idx, demand, eff, unserved, resp, sums)
        np.minimum(resp, cfg.timeout_s, out=resp)
        resp_app = self.layout.weighted_apps(resp)
        viol = np.greater(resp_app, self.sla_response_s, out=self._violation[:n])
        if isinstance(errors, tuple):
            where, err = errors
            viol.ravel()[where] |= err > self.sla_max_error_rate.take(where % self.n_apps)
        elif errors is not None:
            viol |= np.greater(errors, self.sla_max_error_rate)
        if active is not None:
            viol &= active
        if n == 1:
            sums.violation_ticks += viol[0]
            sums.response_s += resp_app[0]
        else:
            sums.violation_ticks += viol.sum(axis=0)
            sums.response_s += resp_app.sum(axis=0)
        sums.ticks += n

    def _dense_unserved(
        self,
        demand: NDArray[np.float64],
        unserved: NDArray[np.float64],
        buffer: NDArray[np.float64],
        wait_factor: NDArray[np.float64],
        resp: NDArray[np.float64],
        sums: IntervalSums,
    ) -> NDArray[np.float64]:
        """Throttling, drops, errors and waits over every entry; returns ``(T, A)`` errors."""
        n = demand.shape[0]
        throttled = np.minimum(unserved, buffer, out=self._throttled[:n])
        dropped = np.subtract(unserved, throttled, out=self._dropped[:n])
        if n == 1:
            sums.served -= unserved[0]
            sums.throttled += throttled[0]
            sums.dropped += dropped[0]
        else:
            sums.served -= unserved.sum(axis=0)
            sums.throttled += throttled.sum(axis=0)
            sums.dropped += dropped.sum(axis=0)
        self._dense = bool(np.count_nonzero(unserved) * self._DENSE_SHARE > unserved.size)
        frac = np.maximum(demand, _TINY, out=self._scratch[:n])
        np.divide(dropped, frac, out=frac)
        np.subtract(1.0, frac, out=frac)
        err = np.multiply(frac[..., 0], frac[..., 1], out=self._err[:n])
        err *= frac[..., 2]
        err *= frac[..., 3]
        wait = np.multiply(throttled, wait_factor, out=self._scratch[:n])
        tmp = np.maximum(wait[..., Resource.CPU], wait[..., Resource.DISK], out=self._tmp[:n])
        np.maximum(tmp, wait[..., Resource.NETWORK], out=tmp)
        resp += tmp
        np.subtract(1.0, err, out=err)
        lost = np.multiply(demand[..., Resource.CPU], err, out=tmp)
        lost *= self._inv_rate
        layout = self.layout
        sums.lost_throughput += (
            layout.sum_apps(lost).sum(axis=0) if n > 1 else layout.sum_apps(lost)[0]
        )
        return layout.weighted_apps(err)

    def _sparse_unserved(
        self,
        idx: NDArray[np.intp],
        demand: NDArray[np.float64],
        eff: NDArray[np.float64],
        unserved: NDArray[np.float64] | None,
        resp: NDArray[np.float64],
        sums: IntervalSums,
    ) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Throttling, drops, errors and waits of the entries with unserved demand only.

        Returns the flat ``(tick, app)`` indices hit and the error rate of each.
        """
        n_comp = self.n_components
        single = demand.shape[0] == 1
        cell = idx if single else idx % (n_comp * N_RESOURCES)  # component * 4 + resource
        res = idx & 3
        d = demand.ravel().take(idx)
        e = eff.ravel().take(cell if eff.ndim == 2 else idx)
        u = np.subtract(d, e) if unserved is None else unserved.ravel().take(idx)
        thr = np.minimum(u, e * self._buffer_ticks.take(res))
        drop = u - thr
        np.subtract.at(sums.served.ravel(), cell, u)
        np.add.at(sums.throttled.ravel(), cell, thr)
        np.add.at(sums.dropped.ravel(), cell, drop)
        tc = idx >> 2  # tick * C + component
        survive, wait = self._survive, self._wait
        np.maximum(d, _TINY, out=d)
        np.divide(drop, d, out=d)
        np.subtract(1.0, d, out=d)
        np.multiply.at(survive, tc, d)
        np.maximum(e, _TINY, out=e)
        np.divide(self._half_tick.take(res), e, out=e)
        np.multiply(thr, e, out=e)
        np.maximum.at(wait, tc, e)
        keep = np.empty(tc.shape, dtype=np.bool_)
        keep[0] = True
        np.not_equal(tc[1:], tc[:-1], out=keep[1:])
        utc = tc[keep]
        flat_resp = resp.ravel()
        flat_resp[utc] += wait.take(utc)
        err = 1.0 - survive.take(utc)
        survive[utc] = 1.0
        wait[utc] = 0.0
        lost = demand.ravel().take(utc << 2) * err * self._inv_rate
        layout = self.layout
        if single and layout.per_app == 1:
            sums.lost_throughput[utc] += lost
            return utc, err
        comp = utc % n_comp
        app = layout.component_app.take(comp)
        np.add.at(sums.lost_throughput, app, lost)
        ta = (utc // n_comp) * self.n_apps + app
        if layout.per_app == 1:
            return ta, err
        app_error = self._app_error
        np.add.at(app_error, ta, layout.component_share.take(comp) * err)
        err_app = app_error.take(ta)
        app_error[ta] = 0.0
        return ta, err_app
