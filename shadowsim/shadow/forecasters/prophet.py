"""Prophet baseline (optional extra: ``pip install shadowsim[prophet]``).

One Prophet model per application and resource, with daily and weekly seasonality. Prophet
forecasts from time alone (trend + seasonality), so ``predict`` only needs the end time of
the history. Quantiles add empirical residual quantiles of the in-sample fit. The state is
Prophet's own JSON serialisation (``prophet.serialize.model_to_json``), never a pickle.

``prophet`` is imported only when this forecaster is fitted or loaded; when it is missing the
error names the extra to install.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ForecastError
from shadowsim.resources import N_RESOURCES
from shadowsim.shadow.forecaster import FORECASTERS, Forecaster

INSTALL_HINT = (
    "Prophet is an optional extra: pip install shadowsim[prophet]  (or: pip install prophet)"
)


def _prophet() -> Any:
    try:
        import prophet
        import prophet.serialize
    except ImportError as err:
        raise ForecastError(
            f"the 'prophet' forecaster needs the prophet package. {INSTALL_HINT}"
        ) from err
    logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
    return prophet


def _frame(
    values: NDArray[np.float64] | None, ticks: NDArray[np.int64], start_s: float, interval_s: float
) -> Any:
    import pandas as pd

    ds = pd.to_datetime(start_s + interval_s * ticks.astype(np.float64), unit="s")
    data: dict[str, Any] = {"ds": ds}
    if values is not None:
        data["y"] = values
    return pd.DataFrame(data)


@FORECASTERS.register("prophet")
class ProphetForecaster(Forecaster):
    """Prophet per application and resource, with empirical residual quantiles.

    Args:
        quantiles: Quantile levels predicted.
        interval_s: Tick length, s.
        max_fit_ticks: Most recent ticks each model is fitted on (Prophet is slow).
    """

    name = "prophet"

    def __init__(
        self,
        quantiles: Sequence[float] = (0.5, 0.9),
        interval_s: float = 300.0,
        max_fit_ticks: int = 4032,
    ) -> None:
        super().__init__(quantiles, interval_s)
        self.max_fit_ticks = int(max_fit_ticks)
        self.fit_start_s = 0.0
        self.models_json: list[str] = []
        self.offsets = np.zeros((0, N_RESOURCES, len(self.quantiles)))
        self._models: list[Any] = []

    def fit(self, history: NDArray[np.float64], *, start_s: float = 0.0) -> ProphetForecaster:
        """Fit one Prophet per app and resource on the last ``max_fit_ticks`` ticks."""
        prophet = _prophet()
        hist = self.check_history(history, min_ticks=2)
        n_apps, n_ticks, _ = hist.shape
        first = max(0, n_ticks - self.max_fit_ticks)
        ticks = np.arange(first, n_ticks)
        self.fit_start_s = float(start_s)
        self._models, self.models_json = [], []
        self.offsets = np.zeros((n_apps, N_RESOURCES, len(self.quantiles)))
        for a in range(n_apps):
            for r in range(N_RESOURCES):
                frame = _frame(hist[a, first:, r], ticks, start_s, self.interval_s)
                model = prophet.Prophet(
                    daily_seasonality=True,
                    weekly_seasonality=True,
                    yearly_seasonality=False,
                    uncertainty_samples=0,
                )
                model.fit(frame)
                resid = hist[a, first:, r] - model.predict(frame)["yhat"].to_numpy()
                self.offsets[a, r] = np.quantile(resid, self.quantiles)
                self._models.append(model)
                self.models_json.append(prophet.serialize.model_to_json(model))
        self.n_apps = n_apps
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
        """Forecasts at many origins: one Prophet prediction over all their target times."""
        demand, origins, horizon = self.checked_origins(demand, origins, horizon)
        ticks = np.arange(origins[0], origins[-1] + horizon)
        idx = origins[:, None] - origins[0] + np.arange(horizon)[None, :]
        point = np.empty((self.n_apps, len(origins), horizon, N_RESOURCES))
        frame = _frame(None, ticks, start_s, self.interval_s)
        for a in range(self.n_apps):
            for r in range(N_RESOURCES):
                yhat = self._models[a * N_RESOURCES + r].predict(frame)["yhat"].to_numpy()
                point[a, :, :, r] = yhat[idx]
        out = point[..., None] + self.offsets[:, None, None]
        return np.maximum(out, 0.0)

    def state(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        """Prophet's JSON per model (meta) and residual offsets (arrays)."""
        meta = self.base_meta() | {"max_fit_ticks": self.max_fit_ticks, "models": self.models_json}
        return meta, {"offsets": self.offsets.copy()}

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> ProphetForecaster:
        """Rebuild the Prophet models from their JSON."""
        prophet = _prophet()
        try:
            obj = cls(meta["quantiles"], meta["interval_s"], meta["max_fit_ticks"])
            obj.n_apps = int(meta["n_apps"])
            obj.models_json = [str(m) for m in meta["models"]]
            obj.offsets = np.asarray(arrays["offsets"], dtype=np.float64)
        except (KeyError, TypeError) as err:
            raise ForecastError(f"prophet: incomplete or wrong state: {err}") from err
        if len(obj.models_json) != obj.n_apps * N_RESOURCES:
            raise ForecastError(
                f"prophet: state holds {len(obj.models_json)} models, expected "
                f"{obj.n_apps * N_RESOURCES}"
            )
        obj._models = [prophet.serialize.model_from_json(m) for m in obj.models_json]
        return obj


@dataclass(frozen=True)
class ProphetConfig:
    """Config of :class:`ProphetForecaster` (Hydra group ``forecaster``, name ``prophet``).

    Attributes:
        quantiles: Quantile levels predicted.
        max_fit_ticks: Most recent ticks each model is fitted on.
    """

    per_horizon: ClassVar[bool] = False
    quantiles: tuple[float, ...] = (0.5, 0.9)
    max_fit_ticks: int = 4032

    def with_horizon(self, horizon: str) -> ProphetConfig:
        """Prophet forecasts any horizon from one fit."""
        return replace(self)

    def build(self, interval_s: float) -> ProphetForecaster:
        """The forecaster for data with ticks of ``interval_s`` s."""
        return ProphetForecaster(list(self.quantiles), interval_s, self.max_fit_ticks)
