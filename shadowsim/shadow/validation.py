"""Scoring a forecaster on a held-back validation window.

Promotion in the registry compares a new model with the serving one on the *same*
:class:`ValidationWindow`: forecasts are made at rolling origins inside the held-back part
(each from the history before it) and compared with what happened. The comparison metric
is the mean over resources of the weighted absolute percentage error (WAPE: sum of
absolute errors / sum of demand), which is unit-free, so CPU (vCPU) and memory (MiB) count
alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ForecastError
from shadowsim.resources import N_RESOURCES, RESOURCES
from shadowsim.shadow.accuracy import pinball_loss, point_index
from shadowsim.shadow.forecaster import Forecaster


@dataclass(frozen=True, eq=False)
class ValidationWindow:
    """A held-back stretch of demand and how to forecast it.

    Attributes:
        demand: ``(n_apps, n_ticks, 4)``: context (``demand[:, :first_origin]``) followed by
            the held-back ticks.
        first_origin: Index of the first held-back tick; forecasts start there.
        horizon: Forecast length at each origin, ticks.
        stride: Ticks between consecutive origins.
        start_s: Time of ``demand[:, 0]``, s (Unix time when known).
    """

    demand: NDArray[np.float64]
    first_origin: int
    horizon: int
    stride: int = 1
    start_s: float = 0.0

    def __post_init__(self) -> None:
        d = self.demand
        if d.ndim != 3 or d.shape[2] != N_RESOURCES:
            raise ForecastError(
                f"validation demand must have shape (n_apps, n_ticks, {N_RESOURCES}), got {d.shape}"
            )
        if self.horizon < 1 or self.stride < 1:
            raise ForecastError(
                f"validation horizon and stride must be >= 1, got {self.horizon}, {self.stride}"
            )
        if not 1 <= self.first_origin <= d.shape[1] - self.horizon:
            raise ForecastError(
                f"validation window of {d.shape[1]} ticks cannot hold context up to tick "
                f"{self.first_origin} plus a {self.horizon}-tick horizon; lengthen the window "
                "or shorten the horizon"
            )

    @property
    def origins(self) -> NDArray[np.int64]:
        """Forecast origins: ``first_origin, first_origin + stride, ...`` (last full horizon)."""
        last = self.demand.shape[1] - self.horizon
        return np.arange(self.first_origin, last + 1, self.stride, dtype=np.int64)

    @property
    def held_back_ticks(self) -> int:
        """Number of held-back ticks."""
        return int(self.demand.shape[1] - self.first_origin)


@dataclass(frozen=True)
class ValidationScore:
    """Accuracy of one model on one validation window (all apps, origins and steps pooled).

    Attributes:
        mae: ``(4,)`` MAE of the point forecast per resource, resource units.
        rmse: ``(4,)`` RMSE of the point forecast per resource, resource units.
        wape: ``(4,)`` sum |error| / sum demand per resource (NaN where demand is all 0).
        pinball: ``(4, n_quantiles)`` mean pinball loss, resource units.
        coverage: ``(4, n_quantiles)`` share of ticks with demand <= the quantile.
        quantiles: Quantile levels.
        n_origins: Number of forecast origins scored.
    """

    mae: NDArray[np.float64]
    rmse: NDArray[np.float64]
    wape: NDArray[np.float64]
    pinball: NDArray[np.float64]
    coverage: NDArray[np.float64]
    quantiles: tuple[float, ...]
    n_origins: int

    @property
    def score(self) -> float:
        """The promotion metric, lower is better: mean WAPE over resources with demand.

        Falls back to the mean MAE when every resource had zero demand.
        """
        finite = self.wape[np.isfinite(self.wape)]
        return float(finite.mean()) if len(finite) else float(self.mae.mean())

    def metrics(self, prefix: str = "val_") -> dict[str, float]:
        """Flat ``{name: value}`` for MLflow, e.g. ``val_mae_cpu``, ``val_p90_coverage_cpu``."""
        out = {f"{prefix}score": self.score}
        for r in RESOURCES:
            key = r.name.lower()
            out[f"{prefix}mae_{key}"] = float(self.mae[r])
            out[f"{prefix}rmse_{key}"] = float(self.rmse[r])
            if np.isfinite(self.wape[r]):
                out[f"{prefix}wape_{key}"] = float(self.wape[r])
            for i, q in enumerate(self.quantiles):
                tag = f"p{round(q * 100):d}"
                out[f"{prefix}pinball_{tag}_{key}"] = float(self.pinball[r, i])
                out[f"{prefix}{tag}_coverage_{key}"] = float(self.coverage[r, i])
        out[f"{prefix}mae"] = float(self.mae.mean())
        out[f"{prefix}rmse"] = float(self.rmse.mean())
        return out


def validate(forecaster: Forecaster, window: ValidationWindow) -> ValidationScore:
    """Score ``forecaster`` on ``window`` with rolling-origin forecasts.

    Args:
        forecaster: A fitted forecaster for the window's applications.
        window: The validation window.

    Returns:
        The pooled scores.

    Raises:
        ForecastError: The forecaster cannot forecast the window (wrong applications...).
    """
    origins = window.origins
    h = window.horizon
    fc = forecaster.predict_origins(window.demand, origins, h, start_s=window.start_s)
    idx = origins[:, None] + np.arange(h)[None, :]
    actual = window.demand[:, idx]  # (n_apps, n_origins, h, 4)
    expected = (*actual.shape, len(forecaster.quantiles))
    if fc.shape != expected:
        raise ForecastError(
            f"{forecaster.name}: predict_origins returned shape {fc.shape}, expected {expected}"
        )
    qs = forecaster.quantiles
    err = actual - fc[..., point_index(qs)]
    axes = (0, 1, 2)
    total = actual.sum(axis=axes)
    abs_sum = np.abs(err).sum(axis=axes)
    with np.errstate(divide="ignore", invalid="ignore"):
        wape = np.where(total > 0, abs_sum / total, np.nan)
    return ValidationScore(
        mae=np.abs(err).mean(axis=axes),
        rmse=np.sqrt((err * err).mean(axis=axes)),
        wape=wape,
        pinball=pinball_loss(actual, fc, qs).mean(axis=axes),
        coverage=(actual[..., None] <= fc).mean(axis=axes),
        quantiles=tuple(qs),
        n_origins=len(origins),
    )
