"""Accumulates :class:`EpisodeMetrics` tick by tick, so episodes need not keep every state."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import ClusterSpec, ClusterState
from shadowsim.engine.component_map import ComponentMap
from shadowsim.errors import ShadowSimError
from shadowsim.metrics.episode_metrics import EpisodeMetrics
from shadowsim.metrics.served_allocation import ServedAllocation
from shadowsim.resources import N_RESOURCES
from shadowsim.workloads.workload import Priority

UNSERVED_TOLERANCE = 1e-6
"""Unserved demand up to this share of the demand does not count as a violation."""


class MetricsAccumulator:
    """Adds up one :class:`ClusterState` per tick; :meth:`result` gives the metrics.

    Usage of each tick is paired with the allocation that served it (see
    :mod:`shadowsim.metrics.served_allocation`), not with the allocation a snapshot reports
    for the tick after.

    Args:
        spec: The cluster's static description.
        component_map: Shared component/application conversions (one is made if None).
        serving: Which snapshot's allocation served each tick; None = each snapshot's own
            (a backend whose changes are in force when applied). For the simulator use
            ``ServedAllocation.for_latency(cluster.scaling.latency_s, interval_s)``.
        initial: The snapshot before the first tick to account (needed by ``serving`` when
            changes are reported one tick early); :meth:`reset` takes it for later episodes.
    """

    def __init__(
        self,
        spec: ClusterSpec,
        *,
        component_map: ComponentMap | None = None,
        serving: ServedAllocation | None = None,
        initial: ClusterState | None = None,
    ) -> None:
        self.spec = spec
        self.components = component_map or ComponentMap(spec)
        self.serving = serving if serving is not None else ServedAllocation.as_reported()
        self._high = np.asarray(spec.priority) == Priority.HIGH
        self._n_high = int(self._high.sum())
        self.reset(initial)

    def reset(self, initial: ClusterState | None = None) -> None:
        """Start a new episode.

        Args:
            initial: The snapshot before the episode's first tick (see the class doc).
        """
        self.serving.start(initial)
        self.n_ticks = 0
        self._cost = np.zeros(3)
        self._allocated = np.zeros(N_RESOURCES)
        self._used = np.zeros(N_RESOURCES)
        self._violations = 0
        self._violations_high = 0
        self._kpi_violations = 0
        self._kpi_violations_high = 0
        self._throughput = 0.0
        self._migrations = 0
        self._response: list[NDArray[np.float64]] = []

    def add(self, state: ClusterState) -> None:
        """Account one tick (or control interval): its usage and the allocation that served it.

        Raises:
            ShadowSimError: The allocation that served it is unknown (see ``initial``).
        """
        self._allocated += self.serving.served(state).sum(axis=0)
        self._used += state.usage.sum(axis=0)
        kpis = state.kpis
        unserved = kpis.demand - kpis.served
        violated = (unserved > UNSERVED_TOLERANCE * kpis.demand + 1e-12).any(axis=1)
        self._violations += int(violated.sum())
        self._violations_high += int((violated & self._high).sum())
        kpi_flag = np.asarray(kpis.sla_violated, dtype=bool)
        self._kpi_violations += int(kpi_flag.sum())
        self._kpi_violations_high += int((kpi_flag & self._high).sum())
        self._throughput += float(np.sum(kpis.throughput_rps))
        self._migrations += int(state.migrations)
        cost = state.cost
        self._cost += (cost.allocation, cost.pool, cost.migration)
        # a copy: snapshots are views the simulator overwrites at the next advance()
        self._response.append(np.array(kpis.response_time_s, dtype=np.float64, copy=True))
        self.n_ticks += 1

    def result(self) -> EpisodeMetrics:
        """The metrics of the ticks added so far.

        Raises:
            ShadowSimError: No tick was added.
        """
        if self.n_ticks == 0:
            raise ShadowSimError("no tick accounted: add at least one ClusterState first")
        n_apps = self.spec.n_apps
        app_ticks = self.n_ticks * n_apps
        high_ticks = self.n_ticks * self._n_high
        slack = np.divide(
            self._allocated - self._used,
            self._allocated,
            out=np.zeros(N_RESOURCES),
            where=self._allocated > 0,
        )
        response = np.concatenate(self._response)
        finite = response[~np.isnan(response)]
        p95 = float(np.percentile(finite, 95)) if finite.size else float("nan")
        return EpisodeMetrics(
            n_ticks=self.n_ticks,
            n_apps=n_apps,
            cost=float(self._cost.sum()),
            cost_allocation=float(self._cost[0]),
            cost_pool=float(self._cost[1]),
            cost_migration=float(self._cost[2]),
            relative_slack=tuple(float(s) for s in slack),
            sla_violation_rate=self._violations / app_ticks,
            sla_violation_rate_high=self._violations_high / high_ticks if high_ticks else 0.0,
            kpi_violation_rate=self._kpi_violations / app_ticks,
            kpi_violation_rate_high=(self._kpi_violations_high / high_ticks if high_ticks else 0.0),
            throughput_rps=self._throughput / self.n_ticks,
            p95_response_time_s=p95,
            migrations=self._migrations,
        )


def compute_metrics(
    states: Iterable[ClusterState],
    spec: ClusterSpec,
    *,
    serving: ServedAllocation | None = None,
    initial: ClusterState | None = None,
) -> EpisodeMetrics:
    """The :class:`EpisodeMetrics` of a sequence of per-tick states.

    Args:
        states: One snapshot per accounted tick, in order.
        spec: The cluster's static description.
        serving: Which snapshot's allocation served each tick (see
            :class:`MetricsAccumulator`); None = each snapshot's own.
        initial: The snapshot before the first of ``states``.
    """
    acc = MetricsAccumulator(spec, serving=serving, initial=initial)
    for state in states:
        acc.add(state)
    return acc.result()
