"""Seasonal-naive forecaster: the same time one season (e.g. one day) ago."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from shadowsim.shadow.forecaster import FORECASTERS
from shadowsim.shadow.forecasters.lagged import LaggedValueForecaster
from shadowsim.shadow.horizon import horizon_steps


@FORECASTERS.register("seasonal_naive")
class SeasonalNaiveForecaster(LaggedValueForecaster):
    """Repeats the value of one season earlier (two seasons for steps beyond one season).

    Args:
        quantiles: Quantile levels predicted.
        interval_s: Tick length, s.
        max_horizon: Longest horizon with its own residual quantiles (duration or s).
        season: Season length as a duration (``"1d"``, ``"1w"``) or s; a whole number of ticks.
    """

    name = "seasonal_naive"

    def __init__(
        self,
        quantiles: Sequence[float] = (0.5, 0.9),
        interval_s: float = 300.0,
        max_horizon: str | float = "1d",
        season: str | float = "1d",
    ) -> None:
        super().__init__(quantiles, interval_s, max_horizon)
        self.season = season
        self.season_steps = horizon_steps(season, self.interval_s, key="forecaster.season")

    @property
    def min_history(self) -> int:
        """One full season."""
        return self.season_steps

    def hyper_params(self) -> dict[str, Any]:
        """Constructor arguments besides quantiles and interval."""
        return super().hyper_params() | {"season": self.season}

    def lags(self, steps: NDArray[np.int64]) -> NDArray[np.int64]:
        """Step ``h`` copies the value ``ceil(h / season)`` seasons back from its target."""
        s = self.season_steps
        return ((steps + s - 1) // s) * s

    def grid(self) -> NDArray[np.int64]:
        """Multiples of the season covering ``max_horizon``."""
        n = max(1, -(-self.max_steps // self.season_steps))
        return np.arange(1, n + 1, dtype=np.int64) * self.season_steps


@dataclass(frozen=True)
class SeasonalNaiveConfig:
    """Config of :class:`SeasonalNaiveForecaster` (Hydra group ``forecaster``).

    Attributes:
        quantiles: Quantile levels predicted.
        max_horizon: Longest horizon with its own residual quantiles.
        season: Season length, e.g. ``"1d"`` or ``"1w"``.
    """

    per_horizon: ClassVar[bool] = False
    quantiles: tuple[float, ...] = (0.5, 0.9)
    max_horizon: str = "1d"
    season: str = "1d"

    def with_horizon(self, horizon: str) -> SeasonalNaiveConfig:
        """This config covering horizons up to ``horizon`` (one model serves them all)."""
        return replace(self, max_horizon=horizon)

    def build(self, interval_s: float) -> SeasonalNaiveForecaster:
        """The forecaster for data with ticks of ``interval_s`` s."""
        return SeasonalNaiveForecaster(
            list(self.quantiles), interval_s, self.max_horizon, self.season
        )
