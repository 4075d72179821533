"""Exponential smoothing (ETS) baseline from statsforecast's AutoETS.

One AutoETS model per application and resource picks error/trend/damping by AICc on the fit
window (without the calibration tail). Forecasts re-run the fitted model over the last
``context`` of the history with :meth:`AutoETS.forward` (no refit), so one fit serves every
origin. Quantiles add empirical residual quantiles per step, measured on the calibration
tail: the model forecasts from origins inside the tail and the errors are collected.

Nothing of ETS is written here: the statistics are statsforecast's. The state is the chosen
components and parameter vector of each model, plain JSON and arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ForecastError
from shadowsim.resources import N_RESOURCES
from shadowsim.shadow.forecaster import FORECASTERS, Forecaster
from shadowsim.shadow.horizon import horizon_steps

_MIN_FIT = 48
"""Fewest ticks an ETS model is fitted on."""


def _auto_ets(model: str) -> Any:
    from statsforecast.models import AutoETS  # heavy import, only when used

    return AutoETS(model=model, season_length=1)


@FORECASTERS.register("ets")
class ETSForecaster(Forecaster):
    """AutoETS per application and resource, with empirical residual quantiles.

    Args:
        quantiles: Quantile levels predicted.
        interval_s: Tick length, s.
        max_horizon: Longest horizon with calibrated quantiles (duration or s); longer
            horizons reuse the last step's residuals.
        model: AutoETS model string (error, trend, season; ``Z`` = pick by AICc). No season:
            the seasonal-naive baseline covers daily patterns.
        context: History replayed through the model before each forecast (duration or s).
        calibration: Tail of the fit window used for residual quantiles (duration or s).
        calibration_origins: Origins per step at which residuals are collected.
    """

    name = "ets"

    def __init__(
        self,
        quantiles: Sequence[float] = (0.5, 0.9),
        interval_s: float = 300.0,
        max_horizon: str | float = "12h",
        model: str = "ZZN",
        context: str | float = "1d",
        calibration: str | float = "3d",
        calibration_origins: int = 48,
    ) -> None:
        super().__init__(quantiles, interval_s)
        self.hparams: dict[str, Any] = {
            "max_horizon": max_horizon,
            "model": model,
            "context": context,
            "calibration": calibration,
            "calibration_origins": calibration_origins,
        }
        self.max_steps = horizon_steps(max_horizon, self.interval_s, key="forecaster.max_horizon")
        self.context = horizon_steps(context, self.interval_s, key="forecaster.context")
        self.calib = horizon_steps(calibration, self.interval_s, key="forecaster.calibration")
        if self.calib <= self.max_steps:
            raise ForecastError(
                f"ets: calibration ({calibration!r} = {self.calib} ticks) must be longer than "
                f"max_horizon ({max_horizon!r} = {self.max_steps} ticks)"
            )
        self.components: list[str] = []
        self.par = np.zeros((0, 0))
        self.n_params = np.zeros(0, dtype=np.int64)
        self.par_len = np.zeros(0, dtype=np.int64)
        self.offsets = np.zeros((0, 0, N_RESOURCES, len(self.quantiles)))
        self._models: list[Any] = []

    @property
    def min_history(self) -> int:
        """Fewest ticks of history :meth:`predict` needs."""
        return 2

    @property
    def min_fit_history(self) -> int:
        """Fewest ticks of history :meth:`fit` needs: the calibration tail and a fit before it."""
        return self.calib + _MIN_FIT

    def fit(self, history: NDArray[np.float64], *, start_s: float = 0.0) -> ETSForecaster:
        """Fit one AutoETS per app and resource, then calibrate residual quantiles."""
        hist = self.check_history(history, min_ticks=1)
        n_apps, n_ticks, _ = hist.shape
        if n_ticks < self.min_fit_history:
            raise ForecastError(
                f"ets: needs at least {self.min_fit_history} ticks ({_MIN_FIT} to fit and "
                f"{self.calib} to calibrate), got {n_ticks}; shorten forecaster.calibration"
            )
        fit_end = n_ticks - self.calib
        self._models, self.components, pars, n_params = [], [], [], []
        for a in range(n_apps):
            for r in range(N_RESOURCES):
                m = _auto_ets(str(self.hparams["model"])).fit(hist[a, :fit_end, r])
                self._models.append(m)
                self.components.append(str(m.model_["components"]))
                pars.append(np.asarray(m.model_["par"], dtype=np.float64))
                n_params.append(int(m.model_["n_params"]))
        width = max(len(p) for p in pars)
        self.par = np.full((len(pars), width), np.nan)
        for i, p in enumerate(pars):
            self.par[i, : len(p)] = p
        self.n_params = np.array(n_params, dtype=np.int64)
        self.par_len = np.array([len(p) for p in pars], dtype=np.int64)
        self.n_apps = n_apps
        self._calibrate(hist, fit_end)
        return self

    def _calibrate(self, hist: NDArray[np.float64], fit_end: int) -> None:
        n_org = int(self.hparams["calibration_origins"])
        last = hist.shape[1] - self.max_steps
        origins = np.unique(np.linspace(fit_end, last, n_org).astype(np.int64))
        fc = self._point(hist, origins, self.max_steps)  # (n_apps, n_org, H, 4)
        target = np.stack([hist[:, o : o + self.max_steps] for o in origins], axis=1)
        qs = np.asarray(self.quantiles)
        self.offsets = np.moveaxis(np.quantile(target - fc, qs, axis=1), 0, -1)

    def _point(
        self, demand: NDArray[np.float64], origins: NDArray[np.int64], horizon: int
    ) -> NDArray[np.float64]:
        out = np.empty((self.n_apps, len(origins), horizon, N_RESOURCES))
        for a in range(self.n_apps):
            for r in range(N_RESOURCES):
                m = self._models[a * N_RESOURCES + r]
                for i, t in enumerate(origins):
                    y = demand[a, max(0, t - self.context) : t, r]
                    out[a, i, :, r] = m.forward(y=y, h=horizon)["mean"]
        return out

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
        """Forecasts at many origins (one model replay per origin and series)."""
        demand, origins, horizon = self.checked_origins(demand, origins, horizon)
        point = self._point(demand, origins, horizon)
        steps = np.minimum(np.arange(horizon), self.offsets.shape[1] - 1)
        out: NDArray[np.float64] = np.maximum(point[..., None] + self.offsets[:, None, steps], 0.0)
        return np.sort(out, axis=-1)

    def state(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        """Chosen components (meta) and parameters, residual offsets (arrays)."""
        meta = self.base_meta() | self.hparams | {"components": list(self.components)}
        return meta, {
            "par": self.par.copy(),
            "n_params": self.n_params.copy(),
            "par_len": self.par_len.copy(),
            "offsets": self.offsets.copy(),
        }

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> ETSForecaster:
        """Rebuild the AutoETS models from their components and parameters."""
        from statsforecast.utils import results

        skip = {"forecaster", "format_version", "n_apps", "interval_s", "quantiles", "components"}
        try:
            obj = cls(
                quantiles=meta["quantiles"],
                interval_s=meta["interval_s"],
                **{k: v for k, v in meta.items() if k not in skip},
            )
            obj.n_apps = int(meta["n_apps"])
            obj.components = [str(c) for c in meta["components"]]
            obj.par = np.asarray(arrays["par"], dtype=np.float64)
            obj.n_params = np.asarray(arrays["n_params"], dtype=np.int64)
            obj.par_len = np.asarray(arrays["par_len"], dtype=np.int64)
            obj.offsets = np.asarray(arrays["offsets"], dtype=np.float64)
        except (KeyError, TypeError) as err:
            raise ForecastError(f"ets: incomplete or wrong state: {err}") from err
        if len(obj.components) != obj.n_apps * N_RESOURCES or len(obj.par) != len(obj.components):
            raise ForecastError(
                f"ets: state holds {len(obj.components)} models and {len(obj.par)} parameter "
                f"rows; expected {obj.n_apps * N_RESOURCES}"
            )
        rows = zip(obj.components, obj.par, obj.n_params, obj.par_len, strict=True)
        for comp, par, n_par, n in rows:
            m = _auto_ets(comp[:3])
            p = par[:n].copy()
            m.model_ = {
                "m": 1,
                "components": comp,
                "par": p,
                "n_params": int(n_par),
                "fit": results(x=p, fn=np.nan, nit=0, simplex=None),
            }
            obj._models.append(m)
        return obj


@dataclass(frozen=True)
class ETSConfig:
    """Config of :class:`ETSForecaster` (Hydra group ``forecaster``, name ``ets``).

    Attributes mirror the constructor arguments of :class:`ETSForecaster`.
    """

    per_horizon: ClassVar[bool] = False
    quantiles: tuple[float, ...] = (0.5, 0.9)
    max_horizon: str = "12h"
    model: str = "ZZN"
    context: str = "1d"
    calibration: str = "3d"
    calibration_origins: int = 48

    def with_horizon(self, horizon: str) -> ETSConfig:
        """This config covering horizons up to ``horizon`` (one model serves them all)."""
        return replace(self, max_horizon=horizon)

    def build(self, interval_s: float) -> ETSForecaster:
        """The forecaster for data with ticks of ``interval_s`` s."""
        return ETSForecaster(
            list(self.quantiles),
            interval_s,
            self.max_horizon,
            self.model,
            self.context,
            self.calibration,
            self.calibration_origins,
        )
