"""The ledger: per-interval and cumulative sums of everything the simulator accounts.

The KPI kernel adds each tick's figures here; at a control tick the simulator turns the
interval sums into means (:meth:`Ledger.close_interval`) and starts a fresh interval. The
sums handed out become the snapshot's arrays, so no copy is made. The ledger owns two sets
of interval sums and alternates between them: the sums handed out at one control tick are
reused (zeroed) for the interval that opens at the next one, so a snapshot's arrays stay
valid until the next :meth:`~shadowsim.sim.simulator.Simulator.advance` and nothing is
allocated per tick.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import CostBreakdown
from shadowsim.resources import N_RESOURCES


@dataclass(eq=False)
class IntervalSums:
    """Sums over the ticks of one control interval.

    Attributes:
        demand: ``(C, 4)`` summed component demand.
        served: ``(C, 4)`` summed served usage.
        throttled: ``(C, 4)`` summed throttled (delayed) demand.
        dropped: ``(C, 4)`` summed dropped (failed) demand.
        response_s: ``(A,)`` summed per-tick response time, s.
        lost_throughput: ``(A,)`` summed per-tick rate of failed requests, requests/s
            (throughput = arrival rate - lost rate).
        violation_ticks: ``(A,)`` ticks in which the SLA was broken.
        ticks: Number of ticks summed.
        allocation_cost: Allocation cost, cu.
        pool_cost: Spare-pool holding cost, cu.
        migration_cost: Migration and shift cost, cu.
        migrations: Migrations and shifts started.
        packed: When the arrays are views of two buffers (as made by :meth:`zeros`): the
            ``(4, C, 4)`` buffer of demand, served, throttled and dropped, and the
            ``(3, A)`` buffer of response_s, lost_throughput and one scratch row; lets a
            compiled kernel take them as two arguments. None otherwise.
        stale: True while the arrays still hold an earlier interval's sums (the ledger
            reuses sums lazily, see :class:`Ledger`): the scalars are zero, and the arrays
            are zero for anything but the compiled KPI kernel, which writes them instead
            of adding to them; everything else reads or adds through :meth:`settle` first.
        hits: ``(C,)`` 1 for components whose throttled or dropped sums may be non-zero
            (kept by the compiled KPI kernel), or None when not followed.
    """

    demand: NDArray[np.float64]
    served: NDArray[np.float64]
    throttled: NDArray[np.float64]
    dropped: NDArray[np.float64]
    response_s: NDArray[np.float64]
    lost_throughput: NDArray[np.float64]
    violation_ticks: NDArray[np.int64]
    ticks: int = 0
    allocation_cost: float = 0.0
    pool_cost: float = 0.0
    migration_cost: float = 0.0
    migrations: int = 0
    packed: tuple[NDArray[np.float64], NDArray[np.float64]] | None = field(default=None, repr=False)
    stale: bool = False
    hits: NDArray[np.uint8] | None = field(default=None, repr=False)

    @classmethod
    def zeros(cls, n_components: int, n_apps: int) -> IntervalSums:
        """Empty sums, packed (see ``packed``): arrays are views of two buffers."""
        per_resource = np.zeros((4, n_components, N_RESOURCES))
        per_app = np.zeros((3, n_apps))
        return cls(
            demand=per_resource[0],
            served=per_resource[1],
            throttled=per_resource[2],
            dropped=per_resource[3],
            response_s=per_app[0],
            lost_throughput=per_app[1],
            violation_ticks=np.zeros(n_apps, dtype=np.int64),
            packed=(per_resource, per_app),
        )

    @property
    def cost(self) -> CostBreakdown:
        """The interval's costs."""
        return CostBreakdown.assemble(self.allocation_cost, self.pool_cost, self.migration_cost)

    def clear(self) -> None:
        """Zero every sum in place (the arrays stay the same objects)."""
        self.clear_scalars()
        self.clear_arrays()

    def settle(self) -> None:
        """Zero the arrays if they are stale (call before reading or adding to them)."""
        if self.stale:
            self.clear_arrays()

    def clear_scalars(self) -> None:
        """Zero the ticks, costs and migrations."""
        self.ticks = 0
        self.allocation_cost = 0.0
        self.pool_cost = 0.0
        self.migration_cost = 0.0
        self.migrations = 0

    def clear_arrays(self) -> None:
        """Zero the arrays in place (no longer stale)."""
        if self.packed is not None:
            self.packed[0].fill(0.0)
            self.packed[1].fill(0.0)
        else:
            for array in (
                self.demand,
                self.served,
                self.throttled,
                self.dropped,
                self.response_s,
                self.lost_throughput,
            ):
                array.fill(0.0)
        self.violation_ticks.fill(0)
        if self.hits is not None:
            self.hits.fill(0)
        self.stale = False


@dataclass(eq=False)
class Totals:
    """Cumulative sums since the episode began.

    Attributes:
        demand: ``(C, 4)`` summed demand over all accounted ticks.
        served: ``(C, 4)`` summed served usage.
        throttled: ``(C, 4)`` summed throttled demand.
        dropped: ``(C, 4)`` summed dropped demand.
        violation_ticks: ``(A,)`` ticks with a broken SLA per application.
        ticks: Accounted ticks.
        cost: Cumulative costs.
        migrations: Migrations and shifts started.
    """

    demand: NDArray[np.float64]
    served: NDArray[np.float64]
    throttled: NDArray[np.float64]
    dropped: NDArray[np.float64]
    violation_ticks: NDArray[np.int64]
    ticks: int = 0
    cost: CostBreakdown = field(default_factory=CostBreakdown)
    migrations: int = 0


class Ledger:
    """Holds the open interval's sums and the episode totals.

    Two sets of interval sums are used in turn (see the module). The set that opens is
    zeroed at once, or, with :attr:`lazy` (set by the compiled snapshot builder), only
    marked stale: its arrays are then zeroed by the first thing that uses them (the
    compiled KPI kernel writes its first sums instead of adding them, which spares a
    memory pass per control tick).

    Args:
        n_components: Number of components ``C``.
        n_apps: Number of applications ``A``.
    """

    def __init__(self, n_components: int, n_apps: int) -> None:
        self._n_components = n_components
        self._n_apps = n_apps
        self._sets = (
            IntervalSums.zeros(n_components, n_apps),
            IntervalSums.zeros(n_components, n_apps),
        )
        self.slot = 0
        """Which of the two sets of sums is the open interval (0 or 1)."""
        self.lazy = False
        """Mark a reused set of sums stale instead of zeroing it."""
        self.interval = self._sets[0]
        self.totals_packed = np.zeros((4, n_components, N_RESOURCES))
        """``(4, C, 4)``: the totals' demand, served, throttled and dropped (views of it)."""
        self.totals = Totals(
            demand=self.totals_packed[0],
            served=self.totals_packed[1],
            throttled=self.totals_packed[2],
            dropped=self.totals_packed[3],
            violation_ticks=np.zeros(n_apps, dtype=np.int64),
        )

    def close_interval(self) -> IntervalSums:
        """Add the open interval to the totals, hand it out and open a fresh one."""
        done = self.interval
        done.settle()
        tot = self.totals
        tot.demand += done.demand
        tot.served += done.served
        tot.throttled += done.throttled
        tot.dropped += done.dropped
        tot.violation_ticks += done.violation_ticks
        return self.swap_interval()

    def swap_interval(self) -> IntervalSums:
        """Hand out the open interval and open a fresh one, adding only its scalars (ticks,
        migrations, costs) to the totals: the caller adds its arrays (a compiled kernel
        does, in the order of :meth:`close_interval`).

        The fresh interval is the other set of sums, zeroed: the one handed out at the
        previous swap, whose arrays are no longer valid from now on.
        """
        done = self.interval
        tot = self.totals
        tot.ticks += done.ticks
        tot.migrations += done.migrations
        tot.cost = CostBreakdown.assemble(
            tot.cost.allocation + done.allocation_cost,
            tot.cost.pool + done.pool_cost,
            tot.cost.migration + done.migration_cost,
        )
        self.slot ^= 1
        fresh = self._sets[self.slot]
        if self.lazy:
            fresh.clear_scalars()
            fresh.stale = True
        else:
            fresh.clear()
        self.interval = fresh
        return done
