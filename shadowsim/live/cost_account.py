"""Cost accounting of a live cluster, with the simulator's price model (cu).

Allocation and pool costs accrue continuously at rates (cu/s) that change whenever an
allocation or the pool changes: before each change the costs since the last one are added at
the old rates (:meth:`CostAccount.accrue`), so the sums are exact whatever the timing of the
actions. Migrations and shifts are charged when they happen. Rates follow
:class:`~shadowsim.sim.cost.CostModel`: components pay for their allocation; a spare in state
``s`` pays ``holding_cost[s]`` times the price of a running VM of its size.
"""

from __future__ import annotations

from shadowsim.cluster_state import CostBreakdown


class CostAccount:
    """Interval and cumulative costs.

    Args:
        now_s: Backend time the accounting starts at, s.
    """

    def __init__(self, now_s: float) -> None:
        self.interval = CostBreakdown()
        self.total = CostBreakdown()
        self.migrations = 0
        self._since_s = now_s
        self._allocation_rate = 0.0
        self._pool_rate = 0.0

    def accrue(self, now_s: float) -> None:
        """Add the allocation and pool costs from the last accrual to ``now_s`` (s)."""
        span = max(0.0, now_s - self._since_s)
        alloc, pool = self._allocation_rate * span, self._pool_rate * span
        iv, tot = self.interval, self.total
        self.interval = CostBreakdown(iv.allocation + alloc, iv.pool + pool, iv.migration)
        self.total = CostBreakdown(tot.allocation + alloc, tot.pool + pool, tot.migration)
        self._since_s = now_s

    def set_rates(self, allocation_cu_s: float, pool_cu_s: float) -> None:
        """The rates in force from now on, cu/s (call :meth:`accrue` first)."""
        self._allocation_rate = allocation_cu_s
        self._pool_rate = pool_cu_s

    def charge_move(self, cost: float) -> None:
        """Record one migration or shift costing ``cost`` cu."""
        iv, tot = self.interval, self.total
        self.interval = CostBreakdown(iv.allocation, iv.pool, iv.migration + cost)
        self.total = CostBreakdown(tot.allocation, tot.pool, tot.migration + cost)
        self.migrations += 1

    def close_interval(self) -> None:
        """Start a new interval (after a snapshot reported the last one)."""
        self.interval = CostBreakdown()
        self.migrations = 0
