"""``seed_literal``: the seed's pseudocode taken literally, inverted sign included.

When the shadow forecast exceeds the last tick's usage by more than ``threshold`` (ref units)
the allocation *shrinks* by the difference; when it falls short by more than ``threshold``,
the allocation grows by the difference. One threshold, no hysteresis, exactly the
pseudocode. Kept so the cost of the inverted sign is measured (compare with
``seed_threshold``). See :mod:`shadowsim_policies.seed_rule`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shadowsim_policies.base import POLICIES
from shadowsim_policies.policy_config import config_from, freeze, number
from shadowsim_policies.seed_rule import SeedRulePolicy, Sign


@dataclass(frozen=True)
class SeedLiteralConfig:
    """Parameters of :class:`SeedLiteralPolicy`.

    Attributes:
        quantile: Forecast level compared with usage.
        threshold: Absolute difference (ref units) that triggers a change, either way.
    """

    quantile: float = 0.5
    threshold: float = 0.05

    def __post_init__(self) -> None:
        freeze(
            self,
            quantile=number("quantile", self.quantile, low=0.0, high=1.0, low_open=True),
            threshold=number("threshold", self.threshold, low=0.0),
        )


@POLICIES.register("seed_literal")
class SeedLiteralPolicy(SeedRulePolicy):
    """The seed's pseudocode as written: scales DOWN when the prediction exceeds usage.

    Args:
        config: Parameters, or None to build them from ``params``.
        **params: Fields of :class:`SeedLiteralConfig`.
    """

    name = "seed_literal"
    sign = Sign.LITERAL

    def __init__(self, config: SeedLiteralConfig | None = None, **params: Any) -> None:
        super().__init__()
        self.config = config_from(SeedLiteralConfig, config, params)

    def rule(self) -> tuple[float, float, float, int]:
        c = self.config
        return c.quantile, c.threshold, c.threshold, 1
