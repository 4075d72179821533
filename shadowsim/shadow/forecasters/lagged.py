"""Baselines that copy a past value: the shared machinery of last value and seasonal naive.

The point forecast for step ``h`` (1-based) made at origin ``t`` is ``x[t - 1 + h - lag(h)]``;
quantiles add empirical residual quantiles from the fit window (see
:mod:`shadowsim.shadow.forecasters.residual_quantiles`). Forecasts are clipped at 0 because
demand is never negative; clipping keeps the quantiles in order.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ForecastError
from shadowsim.shadow.forecaster import Forecaster
from shadowsim.shadow.forecasters.residual_quantiles import (
    MIN_SAMPLES,
    offsets_at,
    residual_quantiles,
)
from shadowsim.shadow.horizon import horizon_steps


class LaggedValueForecaster(Forecaster):
    """Base of forecasters whose point forecast is a lagged copy of the series.

    Args:
        quantiles: Quantile levels predicted.
        interval_s: Tick length, s.
        max_horizon: Longest horizon whose residual quantiles are estimated, as a duration
            (``"1d"``) or seconds; longer horizons reuse the last estimate.
    """

    def __init__(
        self,
        quantiles: Sequence[float] = (0.5, 0.9),
        interval_s: float = 300.0,
        max_horizon: str | float = "1d",
    ) -> None:
        super().__init__(quantiles, interval_s)
        self.max_horizon = max_horizon
        self.max_steps = horizon_steps(max_horizon, self.interval_s, key="forecaster.max_horizon")
        self._lags = np.zeros(0, dtype=np.int64)
        self._table = np.zeros((0, 0, 4, len(self.quantiles)))

    @abstractmethod
    def lags(self, steps: NDArray[np.int64]) -> NDArray[np.int64]:
        """How many ticks back the value copied for each 1-based step lies."""

    @abstractmethod
    def grid(self) -> NDArray[np.int64]:
        """Lags at which residual quantiles are estimated."""

    @property
    def min_history(self) -> int:
        """Fewest ticks of history :meth:`predict` needs."""
        return 1

    @property
    def min_fit_history(self) -> int:
        """Fewest ticks of history :meth:`fit` needs: enough residuals at the smallest lag."""
        return max(self.min_history, int(self.grid()[0]) + MIN_SAMPLES)

    def hyper_params(self) -> dict[str, Any]:
        """Constructor arguments besides quantiles and interval (JSON-able)."""
        return {"max_horizon": self.max_horizon}

    def fit(self, history: NDArray[np.float64], *, start_s: float = 0.0) -> LaggedValueForecaster:
        """Estimate residual quantiles per app and resource from ``history``; returns self."""
        hist = self.check_history(history, min_ticks=2)
        self._lags, self._table = residual_quantiles(hist, self.grid(), self.quantiles)
        self.n_apps = hist.shape[0]
        return self

    def predict(
        self, history: NDArray[np.float64], horizon: int, *, start_s: float = 0.0
    ) -> NDArray[np.float64]:
        """``(n_apps, horizon, 4, n_quantiles)`` forecast after the end of ``history``."""
        return self.forecast_at_end(history, horizon, start_s=start_s)

    def predict_origins(
        self,
        demand: NDArray[np.float64],
        origins: NDArray[np.int64],
        horizon: int,
        *,
        start_s: float = 0.0,
    ) -> NDArray[np.float64]:
        """Batched forecasts at many origins; identical to :meth:`predict` at each."""
        demand, origins, horizon = self.checked_origins(demand, origins, horizon)
        steps = np.arange(1, horizon + 1, dtype=np.int64)
        lags = self.lags(steps)
        src = origins[:, None] - 1 + steps[None, :] - lags[None, :]
        point = demand[:, src]  # (n_apps, n_origins, horizon, 4)
        offsets = offsets_at(self._lags, self._table, lags)  # (n_apps, horizon, 4, Q)
        out: NDArray[np.float64] = np.maximum(point[..., None] + offsets[:, None], 0.0)
        return out

    def state(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        """Meta (hyper-parameters) and arrays (residual-quantile grid and table)."""
        meta = self.base_meta() | self.hyper_params()
        return meta, {"lags": self._lags.copy(), "table": self._table.copy()}

    @classmethod
    def from_state(
        cls, meta: dict[str, Any], arrays: dict[str, NDArray[Any]]
    ) -> LaggedValueForecaster:
        """Rebuild from :meth:`state` output."""
        skip = {"forecaster", "format_version", "n_apps", "interval_s", "quantiles"}
        try:
            obj = cls(
                quantiles=meta["quantiles"],
                interval_s=meta["interval_s"],
                **{k: v for k, v in meta.items() if k not in skip},
            )
            obj._lags = np.asarray(arrays["lags"], dtype=np.int64)
            obj._table = np.asarray(arrays["table"], dtype=np.float64)
            obj.n_apps = int(meta["n_apps"])
        except (KeyError, TypeError) as err:
            raise ForecastError(f"{cls.name}: incomplete or wrong state: {err}") from err
        if obj._table.shape != (obj.n_apps, len(obj._lags), 4, len(obj.quantiles)):
            raise ForecastError(
                f"{cls.name}: residual table has shape {obj._table.shape}, expected "
                f"{(obj.n_apps, len(obj._lags), 4, len(obj.quantiles))}"
            )
        return obj
