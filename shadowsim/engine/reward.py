"""The reward: minus the weighted costs of one control interval.

``reward = -(cost + sla + migration + pool)`` with the terms

- ``cost = w_cost * allocation cost`` (cu, from the backend's :class:`CostBreakdown`),
- ``sla = w_sla * sum over apps of priority_weight[priority] * violated`` where ``violated``
  is the backend's SLA flag (response time or error rate broke the SLA),
- ``migration = w_mig * migration cost`` (cu, migrations and shifts to spares),
- ``pool = w_pool * pool holding cost`` (cu),

each divided by the number of applications when ``per_app`` is set (so rewards are
comparable across cluster sizes). The terms are reported in ``info`` and sum to the reward.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import ClusterSpec, ClusterState
from shadowsim.engine.config_checks import check_bool, check_floats, check_number, set_value
from shadowsim.workloads.workload import Priority


@dataclass(frozen=True)
class RewardConfig:
    """Weights of the reward terms (works with and without Hydra).

    Attributes:
        w_cost: Weight of the allocation cost (per cu), >= 0.
        w_sla: Cost of one SLA violation of weight 1, in cu, >= 0.
        w_mig: Weight of the migration cost (per cu), >= 0.
        w_pool: Weight of the pool holding cost (per cu), >= 0.
        priority_weights: Weight of a violation per class LOW, MEDIUM, HIGH, >= 0.
        per_app: Divide every term by the number of applications.
    """

    w_cost: float = 1.0
    w_sla: float = 0.05
    w_mig: float = 1.0
    w_pool: float = 1.0
    priority_weights: tuple[float, ...] = tuple(p.weight for p in Priority)
    per_app: bool = True

    def __post_init__(self) -> None:
        for key in ("w_cost", "w_sla", "w_mig", "w_pool"):
            set_value(self, key, check_number(key, getattr(self, key), low=0.0))
        set_value(
            self,
            "priority_weights",
            check_floats("priority_weights", self.priority_weights, length=len(Priority), low=0.0),
        )
        set_value(self, "per_app", check_bool("per_app", self.per_app))


@dataclass(frozen=True)
class RewardTerms:
    """The weighted terms of one reward; ``reward == -(cost + sla + migration + pool)``.

    Attributes:
        cost: Weighted allocation cost.
        sla: Weighted, priority-weighted SLA violations.
        migration: Weighted migration cost.
        pool: Weighted pool holding cost.
    """

    cost: float
    sla: float
    migration: float
    pool: float

    @property
    def reward(self) -> float:
        """Minus the sum of the terms."""
        return -(self.cost + self.sla + self.migration + self.pool)

    def as_dict(self) -> dict[str, float]:
        """The terms and the reward by name (for ``info`` and logs)."""
        return {
            "cost": self.cost,
            "sla": self.sla,
            "migration": self.migration,
            "pool": self.pool,
            "reward": self.reward,
        }


class Reward:
    """Computes :class:`RewardTerms` from a snapshot.

    Args:
        spec: The cluster's static description (priorities).
        config: The weights.
    """

    def __init__(self, spec: ClusterSpec, config: RewardConfig | None = None) -> None:
        self.config = config or RewardConfig()
        weights = np.asarray(self.config.priority_weights, dtype=np.float64)
        scale = 1.0 / spec.n_apps if self.config.per_app else 1.0
        self._app_weight: NDArray[np.float64] = (
            weights[np.asarray(spec.priority, dtype=np.intp)] * self.config.w_sla * scale
        )
        self._scale = scale
        self._violated = np.zeros(spec.n_apps)  # the flags as 0.0/1.0 (a same-type dot)
        self._high = np.asarray(spec.priority) == Priority.HIGH

    def terms(self, state: ClusterState) -> RewardTerms:
        """The weighted terms of the interval that ``state`` accounts."""
        cost, sla, migration, pool = self._values(state)
        return RewardTerms(cost=cost, sla=sla, migration=migration, pool=pool)

    def term_dict(self, state: ClusterState) -> dict[str, float]:
        """``terms(state).as_dict()``, the same figures, without the :class:`RewardTerms`."""
        cost, sla, migration, pool = self._values(state)
        return {
            "cost": cost,
            "sla": sla,
            "migration": migration,
            "pool": pool,
            "reward": -(cost + sla + migration + pool),
        }

    def _values(self, state: ClusterState) -> tuple[float, float, float, float]:
        """The weighted cost, SLA, migration and pool terms of ``state``'s interval."""
        cfg = self.config
        cost = state.cost
        s = self._scale
        self._copy_flags(state)
        return (
            cfg.w_cost * cost.allocation * s,
            float(self._app_weight.dot(self._violated)),
            cfg.w_mig * cost.migration * s,
            cfg.w_pool * cost.pool * s,
        )

    def _copy_flags(self, state: ClusterState) -> None:
        """Write the SLA flags of ``state`` as 0.0/1.0 (what ``weights @ flags`` casts to)."""
        np.copyto(self._violated, state.kpis.sla_violated)

    def violations(self, state: ClusterState) -> tuple[int, int]:
        """Applications whose SLA ``state`` flags as violated: all, and HIGH-priority ones."""
        violated = state.kpis.sla_violated
        return int(np.count_nonzero(violated)), int(np.count_nonzero(violated & self._high))
