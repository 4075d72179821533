"""The ledger: per-interval and cumulative sums of everything the simulator accounts.

The KPI kernel adds each tick's figures here; at a control tick the simulator turns the
interval sums into means (:meth:`Ledger.close_interval`) and starts a fresh interval. The
sums handed out become the snapshot's arrays, so no copy is made.
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

    @classmethod
    def zeros(cls, n_components: int, n_apps: int) -> IntervalSums:
        """Empty sums."""
        shape = (n_components, N_RESOURCES)
        return cls(
            demand=np.zeros(shape),
            served=np.zeros(shape),
            throttled=np.zeros(shape),
            dropped=np.zeros(shape),
            response_s=np.zeros(n_apps),
            lost_throughput=np.zeros(n_apps),
            violation_ticks=np.zeros(n_apps, dtype=np.int64),
        )

    @property
    def cost(self) -> CostBreakdown:
        """The interval's costs."""
        return CostBreakdown(self.allocation_cost, self.pool_cost, self.migration_cost)


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

    Args:
        n_components: Number of components ``C``.
        n_apps: Number of applications ``A``.
    """

    def __init__(self, n_components: int, n_apps: int) -> None:
        self._n_components = n_components
        self._n_apps = n_apps
        self.interval = IntervalSums.zeros(n_components, n_apps)
        shape = (n_components, N_RESOURCES)
        self.totals = Totals(
            demand=np.zeros(shape),
            served=np.zeros(shape),
            throttled=np.zeros(shape),
            dropped=np.zeros(shape),
            violation_ticks=np.zeros(n_apps, dtype=np.int64),
        )

    def close_interval(self) -> IntervalSums:
        """Add the open interval to the totals, hand it out and open a fresh one."""
        done = self.interval
        tot = self.totals
        tot.demand += done.demand
        tot.served += done.served
        tot.throttled += done.throttled
        tot.dropped += done.dropped
        tot.violation_ticks += done.violation_ticks
        tot.ticks += done.ticks
        tot.migrations += done.migrations
        tot.cost = CostBreakdown(
            tot.cost.allocation + done.allocation_cost,
            tot.cost.pool + done.pool_cost,
            tot.cost.migration + done.migration_cost,
        )
        self.interval = IntervalSums.zeros(self._n_components, self._n_apps)
        return done
