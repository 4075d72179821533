"""Last-value (persistence) forecaster: tomorrow looks like now."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from shadowsim.shadow.forecaster import FORECASTERS
from shadowsim.shadow.forecasters.lagged import LaggedValueForecaster
from shadowsim.shadow.forecasters.residual_quantiles import lag_grid


@FORECASTERS.register("last_value")
class LastValueForecaster(LaggedValueForecaster):
    """Repeats the last observed value; quantiles from residuals ``x[t+h] - x[t]``.

    Args:
        quantiles: Quantile levels predicted.
        interval_s: Tick length, s.
        max_horizon: Longest horizon with its own residual quantiles (duration or s).
    """

    name = "last_value"

    def lags(self, steps: NDArray[np.int64]) -> NDArray[np.int64]:
        """Step ``h`` copies the value ``h`` ticks back from its target."""
        return steps.copy()

    def grid(self) -> NDArray[np.int64]:
        """Geometric grid of lags up to ``max_horizon``."""
        return lag_grid(self.max_steps)


@dataclass(frozen=True)
class LastValueConfig:
    """Config of :class:`LastValueForecaster` (Hydra group ``forecaster``, name ``last_value``).

    Attributes:
        quantiles: Quantile levels predicted.
        max_horizon: Longest horizon with its own residual quantiles, e.g. ``"1d"``.
    """

    per_horizon: ClassVar[bool] = False
    quantiles: tuple[float, ...] = (0.5, 0.9)
    max_horizon: str = "1d"

    def with_horizon(self, horizon: str) -> LastValueConfig:
        """This config covering horizons up to ``horizon`` (one model serves them all)."""
        return replace(self, max_horizon=horizon)

    def build(self, interval_s: float) -> LastValueForecaster:
        """The forecaster for data with ticks of ``interval_s`` s."""
        return LastValueForecaster(list(self.quantiles), interval_s, self.max_horizon)
