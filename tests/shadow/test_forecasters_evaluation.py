"""Accuracy metrics (MAE, RMSE, pinball, coverage) and the benchmark core."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.errors import ConfigError, ForecastError
from shadowsim.shadow.evaluation import ForecastScores, run_forecast_benchmark, score_forecaster
from shadowsim.shadow.forecasters import LastValueConfig, LastValueForecaster, SeasonalNaiveConfig

from .seasonal_data import seasonal_series


def test_metrics_on_hand_made_numbers() -> None:
    actual = np.zeros((1, 2, 2, 4))
    actual[0, :, :, 0] = [[1.0, 2.0], [3.0, 4.0]]
    fc = np.zeros((1, 2, 2, 4, 2))
    fc[0, :, :, 0, 0] = [[2.0, 2.0], [3.0, 1.0]]  # P50 errors 1, 0, 0, -3
    fc[0, :, :, 0, 1] = [[2.0, 3.0], [5.0, 3.0]]  # P90 covers 3 of 4
    s = ForecastScores.empty(1, 2, (0.5, 0.9)).add(fc, actual)
    cpu = s.summary()["cpu"]
    assert cpu["mae"] == pytest.approx(1.0)
    assert cpu["rmse"] == pytest.approx(np.sqrt(10 / 4))
    assert cpu["p90_coverage"] == pytest.approx(0.75)
    # pinball: P50 0.5*(1+0+0+3)=2; P90: diffs -1,-1,-2,+1 -> 0.1*(1+1+2)+0.9*1=1.3
    assert cpu["pinball"] == pytest.approx((2.0 + 1.3) / 4 / 2)
    assert s.summary(steps=1)["cpu"]["mae"] == pytest.approx(0.5)
    assert s.per_app()["mae"].shape == (1, 4)


def test_mask_leaves_inactive_ticks_out() -> None:
    d = seasonal_series(2, 200, 24)
    f = LastValueForecaster(max_horizon="1h").fit(d[:, :150])
    mask = np.ones((2, 200), dtype=bool)
    mask[1] = False  # app 1 never active
    masked = score_forecaster(f, d, np.arange(150, 190), 6, mask=mask)
    f0 = LastValueForecaster(max_horizon="1h").fit(d[:1, :150])
    only0 = score_forecaster(f0, d[:1], np.arange(150, 190), 6)
    assert masked.summary()["memory"]["mae"] == pytest.approx(only0.summary()["memory"]["mae"])
    assert masked.count[1].sum() == 0


def test_benchmark_core_keys_and_split() -> None:
    d = seasonal_series(3, 800, 48)
    configs = {"last_value": LastValueConfig(), "seasonal_naive": SeasonalNaiveConfig(season="4h")}
    res = run_forecast_benchmark(
        d, 300.0, configs, horizons=("5min", "1h"), test="1d",
    )  # fmt: skip
    assert res.split == 800 - 288
    assert set(res.metrics) == {"last_value", "seasonal_naive"}
    m = res.metrics["seasonal_naive"]["cpu"]["1h"]
    assert set(m) == {"mae", "rmse", "pinball", "p90_coverage", "train_s"}
    assert m["mae"] < res.metrics["last_value"]["cpu"]["1h"]["mae"]
    with pytest.raises(ConfigError, match=r"bench\.test"):
        run_forecast_benchmark(d, 300.0, {"lv": LastValueConfig()}, horizons=("12h",), test="1h")
    with pytest.raises(ConfigError, match=r"bench\.horizons"):
        run_forecast_benchmark(d, 300.0, {"lv": LastValueConfig()}, horizons=("7min",))


def test_scores_need_the_median() -> None:
    s = ForecastScores.empty(1, 1, (0.9,))
    with pytest.raises(ForecastError, match=r"quantile 0\.5"):
        s.add(np.zeros((1, 1, 1, 4, 1)), np.zeros((1, 1, 1, 4)))
