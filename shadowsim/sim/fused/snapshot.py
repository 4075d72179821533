"""The fused snapshot: closing an interval and building its report in one compiled pass.

:class:`FusedSnapshotBuilder` does what :meth:`SnapshotBuilder.build
<shadowsim.sim.snapshot.SnapshotBuilder.build>` does with some twenty numpy calls (adding
the interval to the totals, turning sums into means, host usage and reservations,
application totals, throughput, error rate, SLA flags, copies of the allocations) in one
call, with the same arithmetic in the same order, so the snapshots are identical. When a
component changed host during the interval (host usage is then split between hosts) it
defers to the reference.

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import AppKpis, ClusterState
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.fused.kpis import FusedKpiKernel
from shadowsim.sim.jit import njit
from shadowsim.sim.ledger import IntervalSums
from shadowsim.sim.snapshot import SnapshotBuilder

if TYPE_CHECKING:
    from shadowsim.sim.simulator import Simulator

_TINY = 1e-300  # as in shadowsim.sim.snapshot


@njit
def _close(  # pragma: no cover - compiled
    per_resource: NDArray[np.float64],
    per_app: NDArray[np.float64],
    violations: NDArray[np.int64],
    ticks: int,
    totals: NDArray[np.float64],
    total_violations: NDArray[np.int64],
    topology: NDArray[np.intp],
    host_start: NDArray[np.intp],
    allocation: NDArray[np.float64],
    pending: NDArray[np.float64],
    reserve: NDArray[np.float64],
    held: NDArray[np.float64],
    inv_rate: float,
    interval_hits: NDArray[np.uint8],
    out: NDArray[np.float64],
    violated: NDArray[np.bool_],
) -> None:
    """Close an interval; see :class:`FusedSnapshotBuilder` for the layout of ``out``.

    ``topology`` and ``host_start`` group the components by host
    (:meth:`FusedKpiKernel.host_groups <shadowsim.sim.fused.kpis.FusedKpiKernel.host_groups>`).
    """
    n_comp = per_resource.shape[1]
    n_apps = per_app.shape[1]
    k = n_comp // n_apps
    n_hosts = held.shape[0]
    cells = n_hosts * 4
    size = n_comp * 4
    # throttled and dropped sums are zero but for the components in interval_hits
    sums = per_resource.reshape(4, size)
    flat_totals = totals.reshape(4, size)
    for p in range(2):
        for i in range(size):
            flat_totals[p, i] += sums[p, i]
    for c in range(n_comp):
        if interval_hits[c]:
            for p in range(2, 4):
                for r in range(4):
                    totals[p, c, r] += per_resource[p, c, r]
    for a in range(n_apps):
        total_violations[a] += violations[a]
        violated[a] = violations[a] > 0
    if ticks > 1:
        scale = 1.0 / ticks
        for p in range(2):
            for i in range(size):
                sums[p, i] *= scale
        for c in range(n_comp):
            if interval_hits[c]:
                for p in range(2, 4):
                    for r in range(4):
                        per_resource[p, c, r] *= scale
        for a in range(n_apps):
            per_app[0, a] *= scale
            per_app[1, a] *= scale
    # per host, in component order (as np.bincount): served usage; reservations + spares
    order = topology[2]
    for h in range(n_hosts):
        s0 = s1 = s2 = s3 = 0.0
        r0 = r1 = r2 = r3 = 0.0
        for i in range(host_start[h], host_start[h + 1]):
            c = order[i]
            s0 += per_resource[1, c, 0]
            s1 += per_resource[1, c, 1]
            s2 += per_resource[1, c, 2]
            s3 += per_resource[1, c, 3]
            r0 += reserve[c, 0]
            r1 += reserve[c, 1]
            r2 += reserve[c, 2]
            r3 += reserve[c, 3]
        base = h * 4
        out[base], out[base + 1], out[base + 2], out[base + 3] = s0, s1, s2, s3
        out[cells + base] = r0 + held[h, 0]
        out[cells + base + 1] = r1 + held[h, 1]
        out[cells + base + 2] = r2 + held[h, 2]
        out[cells + base + 3] = r3 + held[h, 3]
    at = 2 * cells
    out[at : at + size] = allocation.reshape(size)
    out[at + size : at + 2 * size] = pending.reshape(size)
    at += 2 * size
    throughput = at
    error = at + n_apps
    apps = at + 2 * n_apps
    for a in range(n_apps):
        if k == 1:
            demand_cpu = per_resource[0, a, 0]
        else:
            for i in range(4):
                for r in range(4):
                    total = per_resource[i, a * k, r]
                    for j in range(1, k):
                        total += per_resource[i, a * k + j, r]
                    out[apps + (i * n_apps + a) * 4 + r] = total
            demand_cpu = out[apps + a * 4]
        arrivals = demand_cpu * inv_rate
        lost = per_app[1, a]
        served = arrivals - lost
        out[throughput + a] = served if served >= 0.0 or served != served else 0.0
        rate = lost / (arrivals if arrivals >= _TINY or arrivals != arrivals else _TINY)
        out[error + a] = rate if rate <= 1.0 or rate != rate else 1.0


class FusedSnapshotBuilder(SnapshotBuilder):
    """A :class:`~shadowsim.sim.snapshot.SnapshotBuilder` whose :meth:`build` is compiled.

    Each snapshot's new arrays are views of one buffer: host usage ``(H, 4)``, host
    reservations ``(H, 4)`` (components and spares; moves in flight are added after),
    allocation and pending allocation ``(C, 4)``, throughput and error rate ``(A,)``, and
    with several components per application the application totals ``(4, A, 4)``. There
    are two such buffers, one per set of interval sums of the ledger, used in turn with
    them; their views (and the :class:`~shadowsim.cluster_state.AppKpis` made of them) are
    made once, so a snapshot allocates nothing but its :class:`ClusterState`.

    Args:
        sim: The simulator observed.
    """

    def __init__(self, sim: Simulator) -> None:
        super().__init__(sim)
        n_hosts = sim.host_limit.shape[0]
        n_comp, n_apps = sim.layout.n_components, sim.workload.n_apps
        self._cells = n_hosts * N_RESOURCES
        self._apps_at = 2 * self._cells + 2 * n_comp * N_RESOURCES + 2 * n_apps
        app_part = 0 if sim.layout.per_app == 1 else 4 * n_apps * N_RESOURCES
        self._size = self._apps_at + app_part
        self._inv_rate = 1.0 / sim.config.queue.request_cpu_s
        self._n_apps = n_apps
        self._comp_size = n_comp * N_RESOURCES
        self._shape_h = (n_hosts, N_RESOURCES)
        self._shape_c = (n_comp, N_RESOURCES)
        # one output buffer per set of interval sums of the ledger (which alternates them):
        # a snapshot's arrays stay valid until the next one is made
        self._outs = (np.empty(self._size), np.empty(self._size))
        self._violated = (np.empty(n_apps, dtype=np.bool_), np.empty(n_apps, dtype=np.bool_))
        self._views: list[_SlotViews | None] = [None, None]
        sim.ledger.lazy = True  # the compiled kernel writes stale sums as zero ones
        if isinstance(sim.kernel, FusedKpiKernel):  # the reservations it reports bound the
            sim.kernel.bound_source = sim.reservations.allocation_bound  # contention checks

    def build(self) -> ClusterState:
        """Close the ledger's interval and report it."""
        sim = self.sim
        packed = sim.ledger.interval.packed
        kernel = sim.kernel
        if packed is None or not isinstance(kernel, FusedKpiKernel) or not self.can_close():
            return super().build()
        sim.ledger.interval.settle()  # (accounted ticks made it not stale: for safety)
        arguments, out, violated = self.closing(packed, kernel)
        _close(*arguments)
        return self.report(sim.ledger.swap_interval(), out, violated)

    def can_close(self) -> bool:
        """True when the compiled close can close the open interval: no component changed
        host during it (host usage is then split between hosts: the reference does it)."""
        return self._flushed is None

    def closing(
        self,
        packed: tuple[NDArray[np.float64], NDArray[np.float64]],
        kernel: FusedKpiKernel,
    ) -> tuple[tuple[Any, ...], NDArray[np.float64], NDArray[np.bool_]]:
        """The compiled close's arguments for the open interval (``packed``: its buffers;
        :meth:`can_close` must be true), with its two output buffers."""
        sim = self.sim
        ledger = sim.ledger
        sums = ledger.interval
        topology, host_start = kernel.host_groups()
        out = self._outs[ledger.slot]
        violated = self._violated[ledger.slot]
        arguments = (
            packed[0],
            packed[1],
            sums.violation_ticks,
            sums.ticks,
            ledger.totals_packed,
            ledger.totals.violation_ticks,
            topology,
            host_start,
            sim.alloc,
            sim.pending,
            sim.reserve,
            sim.reservations.held(),
            self._inv_rate,
            kernel.interval_hits(sums),
            out,
            violated,
        )
        return arguments, out, violated

    def report(
        self, sums: IntervalSums, out: NDArray[np.float64], violated: NDArray[np.bool_]
    ) -> ClusterState:
        """The snapshot of the interval ``sums`` once the compiled close filled ``out`` and
        ``violated`` (see :meth:`closing`)."""
        sim = self.sim
        slot = 0 if out is self._outs[0] else 1
        views = self._views[slot]
        if views is None or views.sums is not sums:
            views = self._views[slot] = self._slot_views(sums, out, violated)
        # a fresh view: the snapshot makes the one it reports read-only
        sim.reservations.adopt(out[self._cells : 2 * self._cells].reshape(self._shape_h))
        return self._state(
            sim.tick - 1,
            sums.demand,
            sums.served,
            views.host_used,
            views.kpis,
            sums.cost,
            sums.migrations,
            allocation=views.allocation,
            pending=views.pending,
        )

    def _slot_views(
        self, sums: IntervalSums, out: NDArray[np.float64], violated: NDArray[np.bool_]
    ) -> _SlotViews:
        """The arrays of the snapshots made from ``sums`` and ``out`` (made once per set)."""
        sim = self.sim
        cells, size, n_apps = self._cells, self._comp_size, self._n_apps
        at = 2 * cells
        throughput_at = at + 2 * size
        if sim.layout.per_app == 1:  # applications are components (as layout.to_apps)
            apps = (sums.demand, sums.served, sums.throttled, sums.dropped)
        else:
            app_sums = out[self._apps_at :].reshape(4, n_apps, N_RESOURCES)
            apps = (app_sums[0], app_sums[1], app_sums[2], app_sums[3])
        kpis = AppKpis(
            demand=apps[0],
            served=apps[1],
            throttled=apps[2],
            dropped=apps[3],
            response_time_s=sums.response_s,
            throughput_rps=out[throughput_at : throughput_at + n_apps],
            error_rate=out[throughput_at + n_apps : throughput_at + 2 * n_apps],
            sla_violated=violated,
        )
        return _SlotViews(
            sums=sums,
            host_used=out[:cells].reshape(self._shape_h),
            allocation=out[at : at + size].reshape(self._shape_c),
            pending=out[at + size : at + 2 * size].reshape(self._shape_c),
            kpis=kpis,
        )


@dataclass(frozen=True, eq=False)
class _SlotViews:
    """The arrays of the snapshots one output buffer and one set of interval sums make.

    Attributes:
        sums: The ledger's set of interval sums they belong to.
        host_used: ``(H, 4)`` served usage per host.
        allocation: ``(C, 4)`` allocation in force.
        pending: ``(C, 4)`` pending allocation.
        kpis: The per-application KPIs.
    """

    sums: IntervalSums
    host_used: NDArray[np.float64]
    allocation: NDArray[np.float64]
    pending: NDArray[np.float64]
    kpis: AppKpis
