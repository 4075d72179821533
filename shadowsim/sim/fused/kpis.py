"""The fused KPI kernel: :mod:`shadowsim.sim.kpis` and :mod:`shadowsim.sim.contention` in one pass.

:class:`FusedKpiKernel` has the interface of :class:`~shadowsim.sim.kpis.KpiKernel` and
computes the same figures with the same arithmetic, in the same order, compiled by numba:
per tick, one pass over the VMs sums the usage wanted per host and priority class (only
when hosts may be overcommitted and the simulator's host reservations, which bound each
host's summed allocation, do not rule contention out), the class shares of contended hosts
are worked out per host and resource, and further passes serve, throttle and drop each
component's demand, compute its response time and error rate and add everything to the
interval sums. No temporary ``(T, C, 4)`` array is made.

Agreement with the numpy reference: bit for bit with one component per application (the
reference's sparse path; its dense path adds block sums in another order when a block holds
several ticks, a difference of rounding only); within 1e-12 relative with several
components per application, where the reference weights components through ``matmul``.
One deliberate simplification: the reference decides once per block of ticks whether any
host is contended, the fused kernel once per tick; they differ only when a host's class
totals exceed its capacity by less than the 1e-12 tolerance of the check.

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shadowsim.resources import N_RESOURCES, Resource
from shadowsim.sim.components import ComponentLayout
from shadowsim.sim.contention import ContentionResolver
from shadowsim.sim.fused.serving import TINY, contention_shares, serve_component
from shadowsim.sim.jit import njit
from shadowsim.sim.kpis import QueueConfig
from shadowsim.sim.ledger import IntervalSums


@njit
def _account(  # pragma: no cover - compiled
    demand: NDArray[np.float64],
    alloc: NDArray[np.float64],
    service: NDArray[np.float64],
    active: NDArray[np.bool_],
    topology: NDArray[np.intp],
    host_start: NDArray[np.intp],
    capacity: NDArray[np.float64],
    bound: NDArray[np.float64],
    shares: NDArray[np.float64],
    sla: NDArray[np.float64],
    params: NDArray[np.float64],
    check: bool,
    per_resource: NDArray[np.float64],
    per_app: NDArray[np.float64],
    violations: NDArray[np.int64],
    work: NDArray[np.float64],
    scratch: NDArray[np.float64],
    interval_hits: NDArray[np.uint8],
    fresh: bool,
) -> None:
    """Account a block of ticks; see :meth:`FusedKpiKernel.account` for the arguments.

    ``per_resource`` is ``(4, C, 4)``: demand, served, throttled, dropped sums;
    ``per_app`` is ``(3, A)``: response-time sums, lost-throughput sums, scratch;
    ``scratch`` is ``(5, C)``; ``interval_hits`` ``(C,)`` is set to 1 for components with
    unserved demand (the others' throttled and dropped sums stay zero). ``fresh``: the
    sums hold an earlier interval's (stale, see
    :class:`~shadowsim.sim.ledger.IntervalSums`): they are written as if they were zero
    (``0.0 + x``: the same bits as adding to zero).
    """
    n, n_comp = demand.shape[0], demand.shape[1]
    k = shares.shape[0]
    n_apps = n_comp // k
    n_cls = (work.shape[2] - 1) // 2
    rcs, max_util, timeout, inv_rate = params[0], params[1], params[2], params[3]
    has_service = service.shape[0] > 0
    has_active = active.shape[0] > 0
    s_resp, s_lost, block_resp = per_app[0], per_app[1], per_app[2]
    e_cpu, d_cpu, resp, err, hits = scratch[0], scratch[1], scratch[2], scratch[3], scratch[4]
    if fresh:
        for c in range(n_comp):
            if interval_hits[c]:
                for r in range(4):
                    per_resource[2, c, r] = 0.0
                    per_resource[3, c, r] = 0.0
                interval_hits[c] = 0
        for a in range(n_apps):
            s_resp[a] = 0.0
            s_lost[a] = 0.0
            violations[a] = 0
    _add_demand(demand, per_resource, fresh)
    block_resp[:] = 0.0
    for t in range(n):
        contended = False
        if check:
            contended = contention_shares(
                t, demand, alloc, service, topology, host_start, capacity, bound, work
            )
        # which components have demand beyond their (effective) allocation, and the
        # M/M/1 response on the CPU allocation (branch-free loops: vector instructions)
        for c in range(n_comp):
            sv = service[t, c] if has_service else 1.0
            e = alloc[c, 0] * sv if has_service else alloc[c, 0]
            e_cpu[c] = e
            d_cpu[c] = demand[t, c, 0]
            over = (
                (demand[t, c, 0] > e)
                | (demand[t, c, 1] > alloc[c, 1])
                | (demand[t, c, 2] > (alloc[c, 2] * sv if has_service else alloc[c, 2]))
                | (demand[t, c, 3] > (alloc[c, 3] * sv if has_service else alloc[c, 3]))
            )
            hits[c] = 1.0 if over | contended else 0.0
        for c in range(n_comp):
            inv_cpu = 1.0 / max(e_cpu[c], TINY)
            resp[c] = (inv_cpu * rcs) / (1.0 - min(d_cpu[c] * inv_cpu, max_util))
            err[c] = 0.0
        # throttling, drops, errors and backlog waits of those components only
        for c in range(n_comp):
            if hits[c] == 0.0:
                continue
            fraction = work[topology[0, c], :, 1 + n_cls + topology[1, c]]
            sv = service[t, c] if has_service else 1.0
            hit, survive, wait = serve_component(
                t, c, demand, alloc, sv, has_service, fraction, contended, params, per_resource
            )
            hits[c] = 1.0 if hit else 0.0
            if hit:
                interval_hits[c] = 1
                resp[c] += wait
                err[c] = 1.0 - survive
                s_lost[c // k] += d_cpu[c] * err[c] * inv_rate
        _violations(t, k, resp, err, hits, shares, sla, timeout, active, has_active, violations)
        for a in range(n_apps):
            block_resp[a] += resp[a]  # _violations left application responses in resp[:A]
    for a in range(n_apps):
        s_resp[a] += block_resp[a]


@njit
def _add_demand(  # pragma: no cover - compiled
    demand: NDArray[np.float64], per_resource: NDArray[np.float64], fresh: bool
) -> None:
    """Add the block's demand total to the demand and served sums (as the reference: the
    block total first; unserved demand comes off served later); ``fresh``: add it to zero
    (the sums are stale)."""
    n, size = demand.shape[0], demand.shape[1] * 4
    flat = demand.reshape(n, size)
    sums = per_resource.reshape(4, size)
    if fresh:
        for i in range(size):
            total = flat[0, i]
            for t in range(1, n):
                total += flat[t, i]
            first = 0.0 + total  # adding to a zero sum (0.0 + -0.0 is 0.0)
            sums[0, i] = first
            sums[1, i] = first
        return
    for i in range(size):
        total = flat[0, i]
        for t in range(1, n):
            total += flat[t, i]
        sums[0, i] += total
        sums[1, i] += total


@njit
def _violations(  # pragma: no cover - compiled
    t: int,
    k: int,
    resp: NDArray[np.float64],
    err: NDArray[np.float64],
    hits: NDArray[np.float64],
    shares: NDArray[np.float64],
    sla: NDArray[np.float64],
    timeout: float,
    active: NDArray[np.bool_],
    has_active: bool,
    violations: NDArray[np.int64],
) -> None:
    """Cap component responses, weigh them per application, count SLA violations.

    Leaves each application's response time in ``resp[a]`` (overwriting components: the
    components of application ``a`` are ``a * k ...``, so ``a * k >= a`` is read first).
    """
    n_apps = sla.shape[1]
    for a in range(n_apps):
        resp_app = 0.0
        err_app = 0.0
        hit_app = False
        for j in range(k):
            c = a * k + j
            r_c = min(resp[c], timeout)
            if k == 1:
                resp_app = r_c
                err_app = err[c]
            else:
                resp_app += r_c * shares[j]
                err_app += shares[j] * err[c]
            hit_app |= hits[c] != 0.0
        violated = (resp_app > sla[0, a]) | (hit_app & (err_app > sla[1, a]))
        if has_active:
            violated &= active[t, a]
        violations[a] += violated
        resp[a] = resp_app


class FusedKpiKernel:
    """Accounts blocks of ticks into a :class:`~shadowsim.sim.ledger.IntervalSums`, compiled.

    Same arguments and methods as :class:`~shadowsim.sim.kpis.KpiKernel`.

    Args:
        config: The queueing model.
        layout: Components of the applications.
        interval_s: Tick length, s.
        sla_response_s: ``(A,)`` response-time targets, s.
        sla_max_error_rate: ``(A,)`` highest tolerated error rates.
        contention: Resolver of host contention (its hosts and classes are used).
        max_block: Largest block of ticks accounted at once.
    """

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
        self.contention = contention
        self.max_block = max_block
        compressible = np.array([r.compressible for r in Resource])
        self._params = np.concatenate(
            [
                [config.request_cpu_s, config.max_utilisation, config.timeout_s],
                [1.0 / config.request_cpu_s],
                np.where(compressible, config.buffer_s / interval_s, 0.0),
                np.where(compressible, interval_s / 2.0, 0.0),
            ]
        )
        self._sla = np.ascontiguousarray(np.stack([sla_response_s, sla_max_error_rate]))
        n_comp, n_apps = layout.n_components, int(sla_response_s.shape[0])
        self._shares = np.ascontiguousarray(layout.shares, dtype=np.float64)
        self._work = np.zeros((contention.n_hosts, N_RESOURCES, 1 + 2 * contention.n_classes))
        self._per_resource = np.empty((4, n_comp, N_RESOURCES))
        self._per_app = np.empty((3, n_apps))
        self._no_service = np.zeros((0, n_comp))
        self._no_active = np.zeros((0, n_apps), dtype=np.bool_)
        self._scratch = np.zeros((5, n_comp))
        self._hosts: NDArray[np.intp] | None = None
        self._no_bound = np.zeros((0, N_RESOURCES))
        self.bound_source: Callable[[], NDArray[np.float64] | None] | None = None
        """Gives an upper bound of each host's summed allocation when one is known (the
        simulator's host reservations while the allocation has not changed since)."""
        self._topology = np.zeros((3, n_comp), dtype=np.intp)
        self._host_start = np.zeros(contention.n_hosts + 1, dtype=np.intp)
        self._allocation = np.zeros((n_comp, N_RESOURCES))
        self._check = False

    def set_allocation(self, allocation: NDArray[np.float64], *, check_contention: bool) -> None:
        """Use ``(C, 4)`` ``allocation`` (kept by reference) from now on.

        Args:
            allocation: The allocation in force, C-contiguous float64.
            check_contention: False when no host can be overcommitted.
        """
        self._allocation = allocation
        self._check = check_contention

    @property
    def contention_possible(self) -> bool:
        """True when some host's summed allocation exceeds its capacity."""
        return self._check and self.contention.possible(self._allocation)

    def account(
        self,
        demand: NDArray[np.float64],
        service: NDArray[np.float64] | None,
        active: NDArray[np.bool_] | None,
        sums: IntervalSums,
    ) -> None:
        """Account ``T`` ticks of ``demand`` into ``sums``.

        Args:
            demand: ``(T, C, 4)`` component demand, C-contiguous, T <= ``max_block``.
            service: ``(T, C)`` service factor of compressible resources, or None.
            active: ``(T, A)`` True where the application exists, or None for always.
            sums: The interval sums to add to.
        """
        packed = sums.packed
        if packed is None:  # sums made field by field: pack, account, unpack
            self._account_unpacked(demand, service, active, sums)
            return
        _account(*self.arguments(demand, service, active, sums, packed))
        sums.stale = False
        sums.ticks += demand.shape[0]

    def arguments(
        self,
        demand: NDArray[np.float64],
        service: NDArray[np.float64] | None,
        active: NDArray[np.bool_] | None,
        sums: IntervalSums,
        packed: tuple[NDArray[np.float64], NDArray[np.float64]],
    ) -> tuple[Any, ...]:
        """The arguments of the compiled kernel for :meth:`account` (``packed``: the
        buffers of ``sums``)."""
        per_resource, per_app = packed
        topology, host_start = self.host_groups()
        return (
            demand,
            self._allocation,
            self._no_service if service is None else service,
            self._no_active if active is None else np.ascontiguousarray(active),
            topology,
            host_start,
            self.contention.capacity,
            self._bound(),
            self._shares,
            self._sla,
            self._params,
            self._check,
            per_resource,
            per_app,
            sums.violation_ticks,
            self._work,
            self._scratch,
            self.interval_hits(sums),
            sums.stale,
        )

    def _bound(self) -> NDArray[np.float64]:
        """``(H, 4)`` upper bound of each host's summed allocation, or empty for none."""
        bound = None if self.bound_source is None else self.bound_source()
        return self._no_bound if bound is None else bound

    def interval_hits(self, sums: IntervalSums) -> NDArray[np.uint8]:
        """``(C,)`` 1 for the components with unserved demand in the interval of ``sums``
        (only theirs have throttled or dropped sums; kept on the sums, see
        :attr:`IntervalSums.hits <shadowsim.sim.ledger.IntervalSums.hits>`); all ones when
        that interval was not followed from its start."""
        hits = sums.hits
        if hits is None:
            fill = 0 if sums.ticks == 0 and not sums.stale else 1
            hits = sums.hits = np.full(self.layout.n_components, fill, dtype=np.uint8)
        return hits

    def host_groups(self) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Each component's host and class and the components grouped by host, ``(3, C)``,
        and where each host's group starts, ``(H + 1,)`` (see
        :func:`~shadowsim.sim.fused.serving.contention_shares`)."""
        if self.contention.host_of is not self._hosts:
            self._place(self.contention.host_of)
        return self._topology, self._host_start

    def _place(self, host_of: NDArray[np.intp]) -> None:
        """Cache each component's host and class, and the components grouped by host."""
        topology = self._topology
        topology[0] = host_of
        topology[1] = self.contention.component_class
        topology[2] = np.argsort(host_of, kind="stable")
        counts = np.bincount(host_of, minlength=self.contention.n_hosts)
        self._host_start[0] = 0
        np.cumsum(counts, out=self._host_start[1:])
        self._hosts = host_of

    def _account_unpacked(
        self,
        demand: NDArray[np.float64],
        service: NDArray[np.float64] | None,
        active: NDArray[np.bool_] | None,
        sums: IntervalSums,
    ) -> None:
        per_resource, per_app = self._per_resource, self._per_app
        fields = (sums.demand, sums.served, sums.throttled, sums.dropped)
        for i, array in enumerate(fields):
            per_resource[i] = array
        per_app[0] = sums.response_s
        per_app[1] = sums.lost_throughput
        scratch = IntervalSums(*fields, sums.response_s, sums.lost_throughput, sums.violation_ticks)
        scratch.packed = (per_resource, per_app)
        self.account(demand, service, active, scratch)
        for i, array in enumerate(fields):
            array[...] = per_resource[i]
        sums.response_s[...] = per_app[0]
        sums.lost_throughput[...] = per_app[1]
        sums.ticks += demand.shape[0]
