"""Inputs of the LSTM forecaster: per-app normalisation, calendar features and windows.

Demand is normalised per application and resource as ``z = log1p(x / scale)`` with ``scale``
the mean demand in the fit window, so one global model can serve applications whose sizes
differ by orders of magnitude; the scales are part of the model's state. Calendar features
(time of day, day of week as sines and cosines) need the Unix time of each tick.

A *window* for forecast origin ``t`` (the first tick to forecast) holds:

* ``context``: the last ``n_steps * patch`` ticks before ``t``, grouped into ``n_steps``
  patches of ``patch`` ticks: ``(n_steps, patch * 4 + 4)`` (values, then the calendar of the
  patch's last tick);
* ``extra``: the value at ``t - 1``, the normalised mean and max of the raw demand over the
  last season, and the values one season (or a whole number of seasons) before each target
  tick, averaged in chunks: ``(4 + 8 + n_chunks * 4,)``;
* ``target``: ``z[t : t + horizon]``, ``(horizon, 4)`` (training only).

Windows are gathered from the raw series and only the gathered values are normalised, so a
forecast for 1,000 applications touches a few hundred ticks each, and a window is computed
the same way (same numbers) whether it is built alone or among many.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from numpy.typing import NDArray

from shadowsim.errors import ForecastError
from shadowsim.resources import N_RESOURCES

N_CALENDAR = 4
"""sin/cos of time of day, sin/cos of day of week."""

_DAY_S = 86400.0
_WEEK_S = 7 * _DAY_S
_SCALE_FLOOR = 1e-6
_Z_MAX = 12.0
"""Normalised values are clipped here (x = 1.6e5 times the fit-window mean)."""


def fit_scales(history: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per-app, per-resource scale: mean demand over the fit window (floored), ``(n_apps, 4)``."""
    scale: NDArray[np.float64] = np.maximum(history.mean(axis=1), _SCALE_FLOOR)
    return scale


def denormalise(z: NDArray[np.floating], scale: NDArray[np.float64]) -> NDArray[np.float64]:
    """Inverse of :meth:`Series.z` for forecasts ``(n_apps, ..., 4, n_quantiles)``."""
    s = scale.reshape(scale.shape[0], *([1] * (z.ndim - 3)), N_RESOURCES, 1)
    out: NDArray[np.float64] = z.astype(np.float64)  # a new array: worked on in place
    values = torch.from_numpy(out)
    torch.expm1(values, out=values)  # (numpy's expm1 takes 3x as long here)
    np.maximum(out, 0.0, out=out)
    out *= s
    return out


def calendar(ticks: NDArray[np.int64], start_s: float, interval_s: float) -> NDArray[np.float32]:
    """``(len(ticks), 4)`` sin/cos of time of day and day of week (UTC) at tick indices.

    Tick ``k`` is at ``start_s + k * interval_s``; computing from the absolute tick index keeps
    the features bit-identical however a series is sliced.
    """
    t = start_s + interval_s * ticks.astype(np.float64)
    day = 2 * np.pi * (t % _DAY_S) / _DAY_S
    week = 2 * np.pi * (t % _WEEK_S) / _WEEK_S
    return np.stack([np.sin(day), np.cos(day), np.sin(week), np.cos(week)], axis=1).astype(
        np.float32
    )


@dataclass(frozen=True)
class WindowSpec:
    """Geometry of the LSTM's input windows, in ticks.

    Attributes:
        n_steps: LSTM steps.
        patch: Ticks per LSTM step.
        season: Season length (ticks) for the seasonal inputs.
        horizon: Ticks forecast.
        level_spans: Spans (ticks) of exponentially weighted means over the last season, given
            to the head as smoothed levels (like an exponential-smoothing state).
    """

    n_steps: int
    patch: int
    season: int
    horizon: int
    level_spans: tuple[int, ...] = ()

    def level_weights(self) -> NDArray[np.float64]:
        """``(n_spans, season)`` normalised EW weights, oldest tick first."""
        k = np.arange(self.season)[::-1].astype(np.float64)  # age of each tick, newest 0
        w = np.stack([(1.0 - 2.0 / (span + 1.0)) ** k for span in self.level_spans])
        out: NDArray[np.float64] = w / w.sum(axis=1, keepdims=True)
        return out.reshape(len(self.level_spans), self.season)

    @property
    def context(self) -> int:
        """Ticks of context fed to the LSTM."""
        return self.n_steps * self.patch

    @property
    def min_history(self) -> int:
        """Fewest ticks before an origin needed to build its window."""
        return max(self.context, self.season)

    @property
    def chunk(self) -> int:
        """Ticks averaged per seasonal input chunk (at most 24 chunks)."""
        return -(-self.horizon // 24)

    @property
    def n_chunks(self) -> int:
        """Seasonal input chunks."""
        return -(-self.horizon // self.chunk)

    @property
    def step_features(self) -> int:
        """Features per LSTM step."""
        return self.patch * N_RESOURCES + N_CALENDAR

    @property
    def extra_features(self) -> int:
        """Features that bypass the LSTM into the head."""
        return (3 + len(self.level_spans) + self.n_chunks) * N_RESOURCES

    def seasonal_lags(self) -> NDArray[np.int64]:
        """For each 1-based step, the whole number of seasons back that is in the past."""
        steps = np.arange(1, self.horizon + 1, dtype=np.int64)
        return ((steps + self.season - 1) // self.season) * self.season

    def check(self, n_ticks: int, origins: NDArray[np.int64]) -> None:
        """Raise when an origin lacks history."""
        if origins[0] < self.min_history:
            raise ForecastError(
                f"lstm: needs {self.min_history} ticks of history before a forecast "
                f"(context {self.context}, season {self.season}), got {int(origins[0])} "
                f"of {n_ticks}"
            )


@dataclass(frozen=True)
class Series:
    """Raw demand plus what is needed to turn it into model inputs.

    Attributes:
        x: ``(n_apps, n_ticks, 4)`` raw demand.
        scale: ``(n_apps, 4)`` per-app normalisation scales.
        start_s: Unix time of absolute tick 0, s.
        interval_s: Tick length, s.
        tick0: Absolute tick index of ``x[:, 0]`` (for calendar features).
    """

    x: NDArray[np.float64]
    scale: NDArray[np.float64]
    start_s: float
    interval_s: float
    tick0: int = 0

    @cached_property
    def xt(self) -> NDArray[np.float64]:
        """``x`` as a C-contiguous ``(n_apps, 4, n_ticks)`` array: each window of one series is
        then a contiguous run, reduced fast and in the same order wherever it sits."""
        return np.ascontiguousarray(self.x.transpose(0, 2, 1))

    def season_stats(
        self,
        apps: NDArray[np.int64],
        origins: NDArray[np.int64],
        season: int,
        level_weights: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64]:
        """Mean, max and weighted means of the raw demand over the ``season`` ticks before each
        origin: ``(n, 4 * (2 + n_weights))``, resource-minor.

        Each window is a contiguous run of :attr:`xt` reduced along its own axis, so the numbers
        do not depend on which other windows are computed with it.
        """
        weights = np.zeros((0, season)) if level_weights is None else level_weights
        out = np.empty((apps.shape[0], (2 + len(weights)) * N_RESOURCES))
        order = np.argsort(origins, kind="stable")
        uniq, first = np.unique(origins[order], return_index=True)
        everyone = np.arange(self.x.shape[0])
        for t, rows in zip(uniq, np.split(order, first[1:]), strict=True):
            # rows of one origin; a view when they are all applications in order (inference)
            every = np.array_equal(apps[rows], everyone)
            win = self.xt[:, :, t - season : t] if every else self.xt[apps[rows], :, t - season : t]
            out[rows, :N_RESOURCES] = win.mean(axis=-1)
            out[rows, N_RESOURCES : 2 * N_RESOURCES] = win.max(axis=-1)
            for j, w in enumerate(weights):
                lo = (2 + j) * N_RESOURCES
                out[rows, lo : lo + N_RESOURCES] = (win * w).sum(axis=-1)
        return out

    def z(
        self, apps: NDArray[np.int64], origins: NDArray[np.int64], offsets: NDArray[np.int64]
    ) -> NDArray[np.float32]:
        """Normalised values at ticks ``origins + offsets`` of ``apps``: ``(n, k, 4)``.

        Args:
            apps: ``(n,)`` application of each row.
            origins: ``(n,)`` reference tick of each row.
            offsets: ``(k,)`` tick offsets from the reference, the same for every row.
        """
        order = np.argsort(origins, kind="stable")
        uniq, first = np.unique(origins[order], return_index=True)
        if len(uniq) * 8 <= len(origins) and (np.diff(offsets) == 1).all():
            # few distinct origins (inference): contiguous slices instead of a fancy gather
            raw = np.empty((len(apps), len(offsets), N_RESOURCES))
            lo, hi = int(offsets[0]), int(offsets[-1]) + 1
            for t, rows in zip(uniq, np.split(order, first[1:]), strict=True):
                raw[rows] = self.x[apps[rows], t + lo : t + hi]
        else:
            raw = self.x[apps[:, None], origins[:, None] + offsets[None, :]]
        # ``raw`` is a new array either way: worked on in place (the division and log1p by
        # torch, whose loops are vectorised: numpy's take 4x and 3x as long here)
        np.maximum(raw, 0.0, out=raw)
        values = torch.from_numpy(raw)
        torch.div(values, torch.from_numpy(self.scale[apps])[:, None, :], out=values)
        torch.log1p(values, out=values)
        np.minimum(raw, _Z_MAX, out=raw)
        out: NDArray[np.float32] = raw.astype(np.float32)
        return out


def pairs(n_apps: int, origins: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """App-major (app, origin) index pairs of every app with every origin."""
    n_org = origins.shape[0]
    return np.repeat(np.arange(n_apps), n_org), np.tile(origins, n_apps)


def build_windows(
    series: Series, apps: NDArray[np.int64], origins: NDArray[np.int64], spec: WindowSpec
) -> tuple[torch.Tensor, torch.Tensor]:
    """Context and extra inputs for (app, origin) pairs.

    Args:
        series: The raw series and its normalisation.
        apps: ``(n,)`` application index of each pair.
        origins: ``(n,)`` forecast origin (first forecast tick, index into ``series.x``) of
            each pair, each ``>= spec.min_history``.
        spec: Window geometry.

    Returns:
        ``context (n, n_steps, step_features)`` and ``extra (n, extra_features)``.
    """
    n = apps.shape[0]
    back = np.arange(-spec.context, 0)
    values = series.z(apps, origins, back)  # (n, context, 4)
    ctx = values.reshape(n, spec.n_steps, spec.patch * N_RESOURCES)
    # the calendar of each patch's last tick, computed once per distinct origin
    uniq, inverse = np.unique(origins, return_inverse=True)
    ends = back.reshape(spec.n_steps, spec.patch)[:, -1]
    cal = calendar((uniq[:, None] + ends).reshape(-1) + series.tick0, series.start_s,
                   series.interval_s).reshape(len(uniq), spec.n_steps, N_CALENDAR)  # fmt: skip
    context = np.concatenate([ctx, cal[inverse.reshape(-1)]], axis=-1)

    scale = series.scale[apps]
    weights = spec.level_weights() if spec.level_spans else None
    stats = series.season_stats(apps, origins, spec.season, weights)
    reps = stats.shape[1] // N_RESOURCES
    stats = np.minimum(np.log1p(np.maximum(stats, 0.0) / np.tile(scale, reps)), _Z_MAX)
    src = np.arange(spec.horizon) - spec.seasonal_lags()  # tick t+h-1 minus its lag
    seas = series.z(apps, origins, src)  # (n, horizon, 4)
    pad = spec.n_chunks * spec.chunk - spec.horizon
    if pad:
        seas = np.concatenate([seas, np.repeat(seas[:, -1:], pad, axis=1)], axis=1)
    seas = seas.reshape(n, spec.n_chunks, spec.chunk, N_RESOURCES).mean(axis=2)
    last = values[:, -1]  # z at offset -1
    extra = np.concatenate(
        [last, stats.astype(np.float32), seas.reshape(n, -1)], axis=-1, dtype=np.float32
    )
    return torch.from_numpy(context), torch.from_numpy(extra)


def build_targets(
    series: Series, apps: NDArray[np.int64], origins: NDArray[np.int64], horizon: int
) -> torch.Tensor:
    """``(n, horizon, 4)`` normalised targets of (app, origin) pairs."""
    return torch.from_numpy(series.z(apps, origins, np.arange(horizon)))
