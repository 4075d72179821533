"""``seed_threshold``: the seed's predictive threshold rule, sign fixed, with hysteresis.

When the shadow forecast (P50 by default) for the leads a decision covers exceeds the last
tick's usage by more than ``up_threshold`` (ref units), the allocation grows by the
difference at once: resources arrive ahead of the predicted demand. When it falls short by
more than ``down_threshold`` for ``down_ticks`` consecutive ticks, the allocation shrinks by
the difference. Thresholds that differ by direction plus the streak are the hysteresis that
keeps it from flapping. See :mod:`shadowsim_policies.seed_rule`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shadowsim_policies.base import POLICIES
from shadowsim_policies.policy_config import config_from, freeze, number
from shadowsim_policies.seed_rule import SeedRulePolicy, Sign


@dataclass(frozen=True)
class SeedThresholdConfig:
    """Parameters of :class:`SeedThresholdPolicy`.

    Attributes:
        quantile: Forecast level compared with usage.
        up_threshold: Difference (ref units) above which the allocation grows at once.
        down_threshold: Shortfall (ref units) past which a scale-down is called for.
        down_ticks: Consecutive ticks a scale-down must be called for before it happens.
    """

    quantile: float = 0.5
    up_threshold: float = 0.05
    down_threshold: float = 0.1
    down_ticks: int = 3

    def __post_init__(self) -> None:
        freeze(
            self,
            quantile=number("quantile", self.quantile, low=0.0, high=1.0, low_open=True),
            up_threshold=number("up_threshold", self.up_threshold, low=0.0),
            down_threshold=number("down_threshold", self.down_threshold, low=0.0),
            down_ticks=int(number("down_ticks", self.down_ticks, low=1.0)),
        )


@POLICIES.register("seed_threshold")
class SeedThresholdPolicy(SeedRulePolicy):
    """The seed's rule as intended: scale up ahead of predicted demand, with hysteresis.

    Args:
        config: Parameters, or None to build them from ``params``.
        **params: Fields of :class:`SeedThresholdConfig`.
    """

    name = "seed_threshold"
    sign = Sign.INTENDED

    def __init__(self, config: SeedThresholdConfig | None = None, **params: Any) -> None:
        super().__init__()
        self.config = config_from(SeedThresholdConfig, config, params)

    def rule(self) -> tuple[float, float, float, int]:
        c = self.config
        return c.quantile, c.up_threshold, c.down_threshold, c.down_ticks
