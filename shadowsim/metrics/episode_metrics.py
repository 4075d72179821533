"""The evaluation metrics every policy comparison uses, and regret against the oracle.

Definitions (A applications, T ticks, usage = served demand, allocation = the allocation
that served each tick's usage (:mod:`shadowsim.metrics.served_allocation`: not the one a
snapshot reports for the tick after), all per application = summed over its components):

- ``cost``: total cost over the episode, cu (allocation + pool + migration), with the three
  parts also reported; ``pool_holding_cost`` is the pool part.
- ``relative_slack[r]`` (Google Autopilot): ``(sum allocated - sum used) / sum allocated``
  over all application-ticks, per resource (0 = no waste, 1 = nothing used).
- ``sla_violation_rate``: share of application-ticks whose demand exceeded the allocation,
  i.e. some resource's demand was not fully served (throttled or dropped beyond a relative
  tolerance of 1e-6); ``sla_violation_rate_high`` the same over HIGH-priority applications
  (0 when there are none).
- ``kpi_violation_rate`` / ``kpi_violation_rate_high``: share of application-ticks the
  backend flagged as breaking the SLA (response time or error rate).
- ``throughput_rps``: mean over ticks of the served requests per s of all applications.
- ``p95_response_time_s``: 95th percentile of the per-application response times over all
  application-ticks, s.
- ``migrations``: migrations and shifts to spares started.
- ``regret``: ``cost - oracle cost`` (cu) against the oracle run on the same window, and
  ``regret_relative = regret / oracle cost``; None until :meth:`EpisodeMetrics.with_regret`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from shadowsim.resources import RESOURCES, Resource


@dataclass(frozen=True)
class EpisodeMetrics:
    """Metrics of one episode (see the module docstring for the definitions).

    Attributes:
        n_ticks: Ticks accounted.
        n_apps: Applications.
        cost: Total cost, cu.
        cost_allocation: Allocation cost, cu.
        cost_pool: Spare-pool holding cost, cu.
        cost_migration: Migration cost, cu.
        relative_slack: Per resource (CPU, MEMORY, DISK, NETWORK) relative slack.
        sla_violation_rate: Share of application-ticks with unserved demand.
        sla_violation_rate_high: The same over HIGH-priority applications.
        kpi_violation_rate: Share of application-ticks flagged by the backend's SLA check.
        kpi_violation_rate_high: The same over HIGH-priority applications.
        throughput_rps: Mean served requests per s, all applications.
        p95_response_time_s: 95th percentile response time, s.
        migrations: Migrations and shifts started.
        regret: Cost minus the oracle's, cu (None if not compared).
        regret_relative: Regret divided by the oracle's cost (None if not compared).
    """

    n_ticks: int
    n_apps: int
    cost: float
    cost_allocation: float
    cost_pool: float
    cost_migration: float
    relative_slack: tuple[float, ...]
    sla_violation_rate: float
    sla_violation_rate_high: float
    kpi_violation_rate: float
    kpi_violation_rate_high: float
    throughput_rps: float
    p95_response_time_s: float
    migrations: int
    regret: float | None = None
    regret_relative: float | None = None

    @property
    def pool_holding_cost(self) -> float:
        """Spare-pool holding cost, cu."""
        return self.cost_pool

    def slack(self, resource: Resource) -> float:
        """Relative slack of one resource."""
        return self.relative_slack[resource]

    def with_regret(self, oracle: EpisodeMetrics) -> EpisodeMetrics:
        """A copy with the regret against ``oracle``'s metrics on the same window filled in."""
        regret = self.cost - oracle.cost
        relative = regret / oracle.cost if oracle.cost > 0 else math.nan
        return replace(self, regret=regret, regret_relative=relative)

    def as_dict(self) -> dict[str, Any]:
        """Flat JSON-friendly dict; slack as ``slack_cpu``, ``slack_memory``, ..."""
        out = asdict(self)
        slack = out.pop("relative_slack")
        for res in RESOURCES:
            out[f"slack_{res.name.lower()}"] = slack[res]
        out["pool_holding_cost"] = self.cost_pool
        return out
