"""Forecast accuracy: MAE, RMSE, pinball loss and quantile coverage, and the benchmark core.

Scores are kept as sums and counts per application, forecast step and resource, so they can
be accumulated over chunks of origins and aggregated at any level without bias. Ticks where an
application was not active (``mask`` False) are left out.

:func:`run_forecast_benchmark` is the core of ``experiments.bench_forecast``: train on the
first part of each series, test on the last part (a week by default) with forecasts from every
tick, for several horizons.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ConfigError, ForecastError
from shadowsim.resources import RESOURCES
from shadowsim.shadow.forecaster import Forecaster
from shadowsim.shadow.forecasters.configs import ForecasterConfig
from shadowsim.shadow.horizon import horizon_steps

_CHUNK_ORIGINS = 256


def targets(
    demand: NDArray[np.float64], origins: NDArray[np.int64], horizon: int
) -> NDArray[np.float64]:
    """``(n_apps, n_origins, horizon, 4)`` actual demand after each origin."""
    idx = origins[:, None] + np.arange(horizon)[None, :]
    if idx.max() >= demand.shape[1]:
        raise ForecastError(f"targets: origin {origins[-1]} + horizon {horizon} runs past the data")
    out: NDArray[np.float64] = demand[:, idx]
    return out


def quantile_index(quantiles: Sequence[float], level: float) -> int:
    """Position of ``level`` in ``quantiles``; raises ForecastError when it is not forecast."""
    for i, q in enumerate(quantiles):
        if abs(q - level) < 1e-9:
            return i
    raise ForecastError(f"quantile {level} is not among the forecast quantiles {tuple(quantiles)}")


@dataclass
class ForecastScores:
    """Accumulated errors per application, forecast step and resource.

    Attributes:
        quantiles: Levels of the forecasts.
        abs_err: ``(n_apps, horizon, 4)`` sum of ``|P50 - actual|``.
        sq_err: Same shape, sum of ``(P50 - actual)**2``.
        pinball: ``(n_apps, horizon, 4, n_quantiles)`` sum of pinball losses.
        covered: Same shape, count of ``actual <= forecast quantile``.
        count: ``(n_apps, horizon, 4)`` number of scored forecasts.
    """

    quantiles: tuple[float, ...]
    abs_err: NDArray[np.float64]
    sq_err: NDArray[np.float64]
    pinball: NDArray[np.float64]
    covered: NDArray[np.float64]
    count: NDArray[np.float64]

    @classmethod
    def empty(cls, n_apps: int, horizon: int, quantiles: Sequence[float]) -> ForecastScores:
        """Zero sums for ``n_apps`` applications and ``horizon`` steps."""
        qs = tuple(float(q) for q in quantiles)
        z3 = np.zeros((n_apps, horizon, len(RESOURCES)))
        z4 = np.zeros((n_apps, horizon, len(RESOURCES), len(qs)))
        return cls(qs, z3.copy(), z3.copy(), z4.copy(), z4.copy(), z3.copy())

    def add(
        self,
        forecasts: NDArray[np.float64],
        actual: NDArray[np.float64],
        weight: NDArray[np.float64] | None = None,
    ) -> ForecastScores:
        """Accumulate forecasts ``(n_apps, n_origins, h, 4, Q)`` against ``actual`` ``(.., h, 4)``.

        Args:
            forecasts: Quantile forecasts, ``h`` <= this score's horizon.
            actual: Observed demand.
            weight: ``(n_apps, n_origins, h)`` 1 where the target tick counts, 0 where not.

        Returns:
            self.
        """
        h = actual.shape[2]
        w = np.ones(actual.shape[:3]) if weight is None else weight
        w4 = w[..., None]
        p50 = forecasts[..., quantile_index(self.quantiles, 0.5)]
        err = p50 - actual
        self.abs_err[:, :h] += (np.abs(err) * w4).sum(axis=1)
        self.sq_err[:, :h] += (err**2 * w4).sum(axis=1)
        diff = actual[..., None] - forecasts
        q = np.asarray(self.quantiles)
        loss = np.maximum(q * diff, (q - 1.0) * diff)
        self.pinball[:, :h] += (loss * w4[..., None]).sum(axis=1)
        self.covered[:, :h] += ((diff <= 0) * w4[..., None]).sum(axis=1)
        self.count[:, :h] += np.broadcast_to(w4, actual.shape).sum(axis=1)
        return self

    def summary(
        self, steps: int | None = None, apps: NDArray[np.int64] | None = None
    ) -> dict[str, dict[str, float]]:
        """Per resource: ``mae``, ``rmse``, ``pinball`` (mean over quantiles), ``p90_coverage``.

        Args:
            steps: Score forecast steps ``1..steps`` (all when None).
            apps: Only these applications (all when None).
        """
        sl = (slice(None) if apps is None else apps, slice(0, steps))
        n = self.count[sl].sum(axis=(0, 1))
        safe = np.maximum(n, 1.0)
        out: dict[str, dict[str, float]] = {}
        p90 = self._maybe_index(0.9)
        for r in RESOURCES:
            res = {
                "mae": float(self.abs_err[sl][..., r].sum() / safe[r]),
                "rmse": float(np.sqrt(self.sq_err[sl][..., r].sum() / safe[r])),
                "pinball": float(self.pinball[sl][..., r, :].sum() / safe[r] / len(self.quantiles)),
                "p90_coverage": float("nan")
                if p90 is None
                else float(self.covered[sl][..., r, p90].sum() / safe[r]),
            }
            out[r.name.lower()] = res
        return out

    def per_app(self, steps: int | None = None) -> dict[str, NDArray[np.float64]]:
        """``mae``, ``rmse``, ``p90_coverage`` as ``(n_apps, 4)`` arrays over steps ``1..steps``."""
        sl = (slice(None), slice(0, steps))
        n = np.maximum(self.count[sl].sum(axis=1), 1.0)
        p90 = self._maybe_index(0.9)
        cover = (
            np.full(n.shape, np.nan) if p90 is None else self.covered[sl][..., p90].sum(axis=1) / n
        )
        return {
            "mae": self.abs_err[sl].sum(axis=1) / n,
            "rmse": np.sqrt(self.sq_err[sl].sum(axis=1) / n),
            "p90_coverage": cover,
        }

    def _maybe_index(self, level: float) -> int | None:
        try:
            return quantile_index(self.quantiles, level)
        except ForecastError:
            return None


def score_forecaster(
    forecaster: Forecaster,
    demand: NDArray[np.float64],
    origins: NDArray[np.int64],
    horizon: int,
    *,
    start_s: float = 0.0,
    mask: NDArray[np.bool_] | None = None,
) -> ForecastScores:
    """Forecast from every origin (in chunks) and score against the actual demand.

    Origins whose horizon runs past the data are scored on the steps that exist.

    Args:
        forecaster: A fitted forecaster.
        demand: ``(n_apps, n_ticks, 4)``.
        origins: Increasing forecast origins.
        horizon: Ticks per forecast.
        start_s: Unix time of ``demand[:, 0]``, s.
        mask: ``(n_apps, n_ticks)`` True where the application was active; None = all.
    """
    n_apps, n_ticks, _ = demand.shape
    scores = ForecastScores.empty(n_apps, horizon, forecaster.quantiles)
    padded = np.concatenate([demand, np.zeros((n_apps, horizon, demand.shape[2]))], axis=1)
    live = np.ones((n_apps, n_ticks), dtype=bool) if mask is None else mask
    live = np.concatenate([live, np.zeros((n_apps, horizon), dtype=bool)], axis=1)
    for start in range(0, len(origins), _CHUNK_ORIGINS):
        chunk = origins[start : start + _CHUNK_ORIGINS]
        fc = forecaster.predict_origins(demand, chunk, horizon, start_s=start_s)
        idx = chunk[:, None] + np.arange(horizon)[None, :]
        scores.add(fc, padded[:, idx], live[:, idx].astype(np.float64))
    return scores


@dataclass
class BenchmarkResult:
    """What :func:`run_forecast_benchmark` measured.

    Attributes:
        metrics: ``{forecaster: {resource: {horizon: {mae, rmse, pinball, p90_coverage,
            train_s}}}}``.
        scores: ``{forecaster: {horizon: ForecastScores}}`` for per-app detail.
        models: ``{forecaster: {horizon: fitted forecaster}}``.
        split: First test tick.
    """

    metrics: dict[str, dict[str, dict[str, dict[str, float]]]] = field(default_factory=dict)
    scores: dict[str, dict[str, ForecastScores]] = field(default_factory=dict)
    models: dict[str, dict[str, Forecaster]] = field(default_factory=dict)
    split: int = 0


def run_forecast_benchmark(
    demand: NDArray[np.float64],
    interval_s: float,
    configs: Mapping[str, ForecasterConfig],
    *,
    horizons: Sequence[str] = ("5min", "1h", "12h"),
    test: str = "1w",
    start_s: float = 0.0,
    mask: NDArray[np.bool_] | None = None,
    on_done: Callable[[str, str, dict[str, Any]], None] | None = None,
) -> BenchmarkResult:
    """Train on the first part of each series and score on the last ``test`` span.

    Forecasts are made at every test tick from the history before it. A config with
    ``per_horizon`` trains one model per horizon; the others train once, for the longest.

    Args:
        demand: ``(n_apps, n_ticks, 4)`` demand.
        interval_s: Tick length, s.
        configs: Forecaster configs by display name.
        horizons: Durations to score (each a whole number of ticks).
        test: Duration of the test span at the end.
        start_s: Unix time of ``demand[:, 0]``, s.
        mask: ``(n_apps, n_ticks)`` True where an application was active.
        on_done: Called as ``on_done(forecaster, horizon, metrics)`` after each model.

    Raises:
        ConfigError: A horizon or the test span is malformed or leaves no training data.
    """
    n_ticks = demand.shape[1]
    steps = {h: horizon_steps(h, interval_s, key="bench.horizons") for h in horizons}
    n_test = horizon_steps(test, interval_s, key="bench.test")
    split = n_ticks - n_test
    if split <= 0 or n_test < max(steps.values()):
        raise ConfigError(
            "bench.test",
            f"{test!r} = {n_test} ticks must be at least the longest horizon "
            f"({max(steps.values())} ticks) and shorter than the workload ({n_ticks} ticks)",
        )
    origins = np.arange(split, n_ticks, dtype=np.int64)
    longest = max(steps, key=lambda h: steps[h])
    result = BenchmarkResult(split=split)
    for name, cfg in configs.items():
        runs = [(h, [h]) for h in steps] if cfg.per_horizon else [(longest, list(steps))]
        per_res: dict[str, dict[str, dict[str, float]]] = {r.name.lower(): {} for r in RESOURCES}
        for model_h, scored in runs:
            forecaster = cfg.with_horizon(model_h).build(interval_s)
            t0 = time.perf_counter()
            forecaster.fit(demand[:, :split], start_s=start_s)
            train_s = time.perf_counter() - t0
            scores = score_forecaster(
                forecaster, demand, origins, steps[model_h], start_s=start_s, mask=mask
            )
            result.models.setdefault(name, {})[model_h] = forecaster
            for h in scored:
                summary = scores.summary(steps=steps[h])
                result.scores.setdefault(name, {})[h] = scores
                for res, vals in summary.items():
                    per_res[res][h] = vals | {"train_s": train_s}
                if on_done is not None:
                    on_done(name, h, summary)
        result.metrics[name] = per_res
    return result


def inference_times_ms(
    forecaster: Forecaster, history: NDArray[np.float64], horizon: int, *, repeats: int = 20
) -> NDArray[np.float64]:
    """Wall-clock times of ``repeats`` batched :meth:`Forecaster.predict` calls, ms (after a
    warm-up call)."""
    forecaster.predict(history, horizon)
    times = np.empty(repeats)
    for i in range(repeats):
        t0 = time.perf_counter()
        forecaster.predict(history, horizon)
        times[i] = (time.perf_counter() - t0) * 1000.0
    return times


def inference_ms(
    forecaster: Forecaster, history: NDArray[np.float64], horizon: int, *, repeats: int = 20
) -> float:
    """Median wall-clock time of one batched :meth:`Forecaster.predict`, ms."""
    return float(np.median(inference_times_ms(forecaster, history, horizon, repeats=repeats)))


def concat_scores(parts: Sequence[ForecastScores]) -> ForecastScores:
    """Scores of disjoint application sets joined along the application axis."""
    return ForecastScores(
        parts[0].quantiles,
        *(np.concatenate([getattr(p, k) for p in parts]) for k in
          ("abs_err", "sq_err", "pinball", "covered", "count")),
    )  # fmt: skip


def per_app_benchmark(
    demand: NDArray[np.float64],
    interval_s: float,
    config: ForecasterConfig,
    horizon: str,
    *,
    test: str = "1w",
    start_s: float = 0.0,
    mask: NDArray[np.bool_] | None = None,
) -> tuple[dict[str, dict[str, float]], float]:
    """One model per application (the alternative to a global model), scored like the benchmark.

    Returns:
        Per-resource summary at ``horizon`` and the total training time, s.
    """
    n_ticks = demand.shape[1]
    steps = horizon_steps(horizon, interval_s, key="bench.compare_sharing")
    split = n_ticks - horizon_steps(test, interval_s, key="bench.test")
    origins = np.arange(split, n_ticks, dtype=np.int64)
    parts, train_s = [], 0.0
    for a in range(demand.shape[0]):
        one = demand[a : a + 1]
        forecaster = config.with_horizon(horizon).build(interval_s)
        t0 = time.perf_counter()
        forecaster.fit(one[:, :split], start_s=start_s)
        train_s += time.perf_counter() - t0
        m = None if mask is None else mask[a : a + 1]
        parts.append(score_forecaster(forecaster, one, origins, steps, start_s=start_s, mask=m))
    return concat_scores(parts).summary(steps=steps), train_s
