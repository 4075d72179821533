"""Empirical residual quantiles: the quantile forecasts of the statistical baselines.

A baseline makes a point forecast for step ``h`` by copying a past value ``lag(h)`` ticks
back (``lag(h) = h`` for last value, a multiple of the season for seasonal naive). Its
quantile ``q`` is that point plus the ``q``-quantile of ``x[j] - x[j - lag]`` over the fit
window, per application and resource. Quantiles are kept at a grid of lags and linearly
interpolated between them, so a long horizon costs a few dozen quantile passes, not one
per step.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ForecastError

MIN_SAMPLES = 12
"""Fewest residuals per application needed to estimate a lag's quantiles."""


def lag_grid(max_lag: int) -> NDArray[np.int64]:
    """Lags 1, 2, ..., 6, then about 12 per doubling up to ``max_lag`` (inclusive)."""
    grid = set(range(1, min(max_lag, 6) + 1))
    grid.update(round(float(v)) for v in np.geomspace(6, max(6, max_lag), 48))
    grid.add(max_lag)
    return np.array(sorted(g for g in grid if 1 <= g <= max_lag), dtype=np.int64)


def residual_quantiles(
    history: NDArray[np.float64], lags: NDArray[np.int64], quantiles: tuple[float, ...]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Per-app quantiles of ``x[j] - x[j - lag]`` for each usable lag.

    Args:
        history: ``(n_apps, n_ticks, 4)`` fit window.
        lags: Increasing candidate lags, ticks.
        quantiles: Levels to estimate.

    Returns:
        ``(used_lags, table)``: the lags with at least :data:`MIN_SAMPLES` residuals and a
        ``(n_apps, len(used_lags), 4, n_quantiles)`` table of offsets.

    Raises:
        ForecastError: Not even the smallest lag has enough residuals.
    """
    n_ticks = history.shape[1]
    used = lags[lags <= n_ticks - MIN_SAMPLES]
    if len(used) == 0:
        raise ForecastError(
            f"need at least {int(lags[0]) + MIN_SAMPLES} ticks of history to estimate residual "
            f"quantiles at lag {int(lags[0])}, got {n_ticks}"
        )
    qs = np.asarray(quantiles)
    table = np.empty((history.shape[0], len(used), history.shape[2], len(qs)))
    for i, lag in enumerate(used):
        resid = history[:, lag:] - history[:, :-lag]
        table[:, i] = np.moveaxis(np.quantile(resid, qs, axis=1), 0, -1)
    return used, table


def offsets_at(
    lags: NDArray[np.int64], table: NDArray[np.float64], query: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Offsets for arbitrary lags, linearly interpolated (held constant beyond the grid).

    Args:
        lags: Grid lags from :func:`residual_quantiles`.
        table: ``(n_apps, n_lags, 4, n_quantiles)`` offsets at those lags.
        query: ``(horizon,)`` lag of each forecast step.

    Returns:
        ``(n_apps, horizon, 4, n_quantiles)`` offsets, increasing along the last axis.
    """
    q = np.clip(query, lags[0], lags[-1]).astype(np.float64)
    hi = np.clip(np.searchsorted(lags, q, side="left"), 0, len(lags) - 1)
    lo = np.clip(hi - 1, 0, len(lags) - 1)
    span = (lags[hi] - lags[lo]).astype(np.float64)
    w = np.where(span > 0, (q - lags[lo]) / np.where(span > 0, span, 1.0), 1.0)
    w = w[None, :, None, None]
    out: NDArray[np.float64] = (1.0 - w) * table[:, lo] + w * table[:, hi]
    return out
