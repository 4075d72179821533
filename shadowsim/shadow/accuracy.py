"""Rolling forecast accuracy per application and resource.

Each control tick a shadow service compares the forecast it issued earlier for this tick
with the demand that really happened. :class:`RollingAccuracy` keeps the last
``window_ticks`` of those comparisons for every application at once (vectorised over
applications) and reports, per application and resource:

* MAE and RMSE of the point forecast (the quantile nearest 0.5), in the resource's unit
  (vCPU, MiB, KB/s);
* the pinball (quantile) loss of every quantile, same unit;
* the coverage of every quantile, i.e. the share of ticks where demand stayed at or below
  it (a well-calibrated P90 covers about 0.9);
* the mean demand, so relative errors (MAE / mean demand) compare across resources.

The helpers :func:`point_index` and :func:`pinball_loss` are shared with held-back
validation (:mod:`shadowsim.shadow.validation`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ForecastError
from shadowsim.resources import N_RESOURCES


def point_index(quantiles: Sequence[float]) -> int:
    """Index of the quantile used as point forecast: the one nearest 0.5."""
    if len(quantiles) == 0:
        raise ForecastError("a forecast needs at least one quantile level")
    return int(np.argmin(np.abs(np.asarray(quantiles, dtype=np.float64) - 0.5)))


def pinball_loss(
    actual: NDArray[np.float64], forecast: NDArray[np.float64], quantiles: Sequence[float]
) -> NDArray[np.float64]:
    """Element-wise pinball loss ``max(q (y - f), (q - 1)(y - f))``.

    Args:
        actual: Demand, any shape ``S``.
        forecast: Quantile forecasts, shape ``S + (n_quantiles,)``.
        quantiles: Quantile levels.

    Returns:
        Loss of shape ``S + (n_quantiles,)``, in the unit of the demand.
    """
    q = np.asarray(quantiles, dtype=np.float64)
    diff = actual[..., None] - forecast
    out: NDArray[np.float64] = np.maximum(q * diff, (q - 1.0) * diff)
    return out


@dataclass(frozen=True)
class AccuracyReport:
    """Rolling accuracy of every application, as of the last update.

    Attributes:
        quantiles: Quantile levels of the scored forecasts.
        n: ``(n_apps,)`` number of scored ticks in the window.
        mae: ``(n_apps, 4)`` mean absolute error of the point forecast, resource units.
        rmse: ``(n_apps, 4)`` root mean squared error of the point forecast, resource units.
        pinball: ``(n_apps, 4, n_quantiles)`` mean pinball loss, resource units.
        coverage: ``(n_apps, 4, n_quantiles)`` share of ticks with demand <= the quantile.
        mean_actual: ``(n_apps, 4)`` mean demand over the window, resource units.

    Entries of applications with ``n == 0`` are NaN.
    """

    quantiles: tuple[float, ...]
    n: NDArray[np.int64]
    mae: NDArray[np.float64]
    rmse: NDArray[np.float64]
    pinball: NDArray[np.float64]
    coverage: NDArray[np.float64]
    mean_actual: NDArray[np.float64]

    @property
    def relative_mae(self) -> NDArray[np.float64]:
        """``(n_apps, 4)`` MAE divided by mean demand (NaN where the mean is 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            out: NDArray[np.float64] = np.where(
                self.mean_actual > 0, self.mae / self.mean_actual, np.nan
            )
        return out

    def coverage_at(self, level: float) -> NDArray[np.float64]:
        """``(n_apps, 4)`` coverage of the quantile ``level`` (e.g. 0.9 for the P90).

        Raises:
            ForecastError: ``level`` is not one of the forecast's quantiles.
        """
        for i, q in enumerate(self.quantiles):
            if abs(q - level) < 1e-9:
                return self.coverage[..., i]
        raise ForecastError(
            f"no quantile {level} in the scored forecasts; they have {list(self.quantiles)}"
        )


class RollingAccuracy:
    """Accuracy over the last ``window_ticks`` scored ticks, per application and resource.

    Updates are O(n_apps x 4 x n_quantiles) per tick: running sums are kept and the
    evicted tick subtracted; sums are recomputed exactly once per window to stop
    floating-point drift.

    Args:
        n_apps: Number of applications.
        quantiles: Quantile levels of the forecasts that will be scored.
        window_ticks: Length of the rolling window, ticks (>= 1).
    """

    def __init__(self, n_apps: int, quantiles: Sequence[float], window_ticks: int) -> None:
        if n_apps < 1:
            raise ForecastError(f"RollingAccuracy needs n_apps >= 1, got {n_apps}")
        if isinstance(window_ticks, bool) or int(window_ticks) != window_ticks or window_ticks < 1:
            raise ForecastError(f"accuracy window must be an int >= 1 ticks, got {window_ticks!r}")
        self.n_apps = int(n_apps)
        self.quantiles = tuple(float(q) for q in quantiles)
        self.window_ticks = int(window_ticks)
        self._point = point_index(self.quantiles)
        n_q = len(self.quantiles)
        w, a, r = self.window_ticks, self.n_apps, N_RESOURCES
        # Per-slot records; weight 0 marks an empty slot or a masked application.
        self._weight = np.zeros((w, a))
        self._abs = np.zeros((w, a, r))
        self._sq = np.zeros((w, a, r))
        self._pin = np.zeros((w, a, r, n_q))
        self._cov = np.zeros((w, a, r, n_q))
        self._act = np.zeros((w, a, r))
        self._slot = 0
        self._since_exact = 0
        self._recompute()

    def update(
        self,
        forecast: NDArray[np.float64],
        actual: NDArray[np.float64],
        mask: NDArray[np.bool_] | None = None,
    ) -> None:
        """Score one tick.

        Args:
            forecast: ``(n_apps, 4, n_quantiles)`` quantiles issued earlier for this tick.
            actual: ``(n_apps, 4)`` demand observed at this tick.
            mask: ``(n_apps,)`` True for applications to score (default all); the others
                record nothing for this tick.

        Raises:
            ForecastError: Shapes do not match or values are not finite.
        """
        n_q = len(self.quantiles)
        if forecast.shape != (self.n_apps, N_RESOURCES, n_q):
            raise ForecastError(
                f"forecast must have shape {(self.n_apps, N_RESOURCES, n_q)}, got {forecast.shape}"
            )
        if actual.shape != (self.n_apps, N_RESOURCES):
            raise ForecastError(
                f"actual must have shape {(self.n_apps, N_RESOURCES)}, got {actual.shape}"
            )
        weight = np.ones(self.n_apps) if mask is None else np.asarray(mask, dtype=np.float64)
        if weight.shape != (self.n_apps,):
            raise ForecastError(f"mask must have shape ({self.n_apps},), got {weight.shape}")
        ok = np.asarray(np.isfinite(forecast).all(axis=(1, 2)) & np.isfinite(actual).all(axis=1))
        if not ok[weight > 0].all():
            bad = int(np.flatnonzero((weight > 0) & ~ok)[0])
            raise ForecastError(f"forecast or actual of application {bad} is not finite")
        err = np.where(weight[:, None] > 0, actual - forecast[..., self._point], 0.0)
        act = np.where(weight[:, None] > 0, actual, 0.0)
        fc = np.where(weight[:, None, None] > 0, forecast, 0.0)
        rec = (
            weight,
            np.abs(err),
            err * err,
            pinball_loss(act, fc, self.quantiles) * weight[:, None, None],
            (act[..., None] <= fc).astype(np.float64) * weight[:, None, None],
            act,
        )
        s = self._slot
        for buf, total, new in zip(self._buffers(), self._totals(), rec, strict=True):
            total += new - buf[s]
            buf[s] = new
        self._slot = (s + 1) % self.window_ticks
        self._since_exact += 1
        if self._since_exact >= self.window_ticks:
            self._recompute()

    def reset(self, apps: NDArray[np.bool_] | None = None) -> None:
        """Forget the window of ``apps`` (``(n_apps,)`` bool; default all), e.g. after a retrain."""
        sel = np.ones(self.n_apps, dtype=bool) if apps is None else np.asarray(apps, dtype=bool)
        for buf in self._buffers():
            buf[:, sel] = 0.0
        self._recompute()

    def report(self) -> AccuracyReport:
        """The current rolling accuracy of every application."""
        n = self._n_total
        with np.errstate(divide="ignore", invalid="ignore"):
            d2 = np.where(n > 0, n, np.nan)[:, None]
            d3 = d2[..., None]
            return AccuracyReport(
                quantiles=self.quantiles,
                n=np.rint(n).astype(np.int64),
                mae=self._abs_total / d2,
                rmse=np.sqrt(np.maximum(self._sq_total, 0.0) / d2),
                pinball=self._pin_total / d3,
                coverage=self._cov_total / d3,
                mean_actual=self._act_total / d2,
            )

    def _buffers(self) -> tuple[NDArray[np.float64], ...]:
        return (self._weight, self._abs, self._sq, self._pin, self._cov, self._act)

    def _totals(self) -> tuple[NDArray[np.float64], ...]:
        return (
            self._n_total,
            self._abs_total,
            self._sq_total,
            self._pin_total,
            self._cov_total,
            self._act_total,
        )

    def _recompute(self) -> None:
        """Exact sums over the window (called once per window and on reset)."""
        self._n_total = self._weight.sum(axis=0)
        self._abs_total = self._abs.sum(axis=0)
        self._sq_total = self._sq.sum(axis=0)
        self._pin_total = self._pin.sum(axis=0)
        self._cov_total = self._cov.sum(axis=0)
        self._act_total = self._act.sum(axis=0)
        self._since_exact = 0
