"""Forecast providers (precomputed, online, oracle), the error tracker and the demand window."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.engine.demand_window import DemandWindow
from shadowsim.engine.forecast_error import ForecastErrorTracker
from shadowsim.engine.forecasts import (
    ForecastProvider,
    OnlineForecasts,
    OracleForecasts,
    PrecomputedForecasts,
)
from shadowsim.errors import ForecastError
from shadowsim.shadow.forecasters.last_value import LastValueForecaster
from shadowsim.shadow.forecasters.seasonal_naive import SeasonalNaiveForecaster


def _demand(n_apps: int = 3, n_ticks: int = 200, period: int = 24, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = np.arange(n_ticks)
    wave = 1.0 + 0.5 * np.sin(2 * np.pi * t / period)[None, :, None]
    return (
        rng.uniform(1, 10, size=(n_apps, 1, 4)) * wave * rng.uniform(0.9, 1.1, (n_apps, n_ticks, 4))
    )


def _seasonal(demand):
    forecaster = SeasonalNaiveForecaster(interval_s=300.0, max_horizon=3600.0, season=24 * 300.0)
    return forecaster.fit(demand[:, :100])


def test_precomputed_equals_predict_at_each_origin():
    demand = _demand()
    provider = PrecomputedForecasts(_seasonal(demand), demand, horizon=6)
    assert isinstance(provider, ForecastProvider)
    provider.start(120, 130)
    for tick in (120, 125, 130):
        expected = provider.forecaster.predict(demand[:, :tick], 6)
        np.testing.assert_allclose(provider.forecast(tick), expected)
    with pytest.raises(ForecastError, match=r"prepared for ticks 120\.\.130"):
        provider.forecast(131)


def test_online_agrees_with_precomputed():
    demand = _demand()
    forecaster = _seasonal(demand)
    pre = PrecomputedForecasts(forecaster, demand, horizon=6)
    online = OnlineForecasts(forecaster, demand, horizon=6, context_ticks=48)
    pre.start(110, 140)
    online.start(110, 140)
    for tick in range(110, 140):
        np.testing.assert_allclose(online.forecast(tick), pre.forecast(tick))
        online.observe(tick, demand[:, tick])
    with pytest.raises(ForecastError, match="expected tick 140"):
        online.observe(150, demand[:, 150])


def test_online_refits_on_schedule():
    demand = _demand()
    forecaster = LastValueForecaster(interval_s=300.0, max_horizon=3600.0).fit(demand[:, :50])
    online = OnlineForecasts(forecaster, demand, horizon=2, context_ticks=30, refit_every_ticks=5)
    online.start(60, 80)
    before = forecaster.state()[1]
    for tick in range(60, 65):
        online.observe(tick, demand[:, tick] * 3.0)  # a level shift changes the residuals
    after = forecaster.state()[1]
    assert any(not np.array_equal(before[k], after[k]) for k in before)


def test_oracle_is_the_truth_padded_at_the_end():
    demand = _demand(n_ticks=20)
    oracle = OracleForecasts(demand, horizon=4, quantiles=(0.5, 0.9))
    oracle.start(0, 20)
    fc = oracle.forecast(5)
    assert fc.shape == (3, 4, 4, 2)
    np.testing.assert_array_equal(fc[..., 0], demand[:, 5:9])
    np.testing.assert_array_equal(fc[..., 1], demand[:, 5:9])
    end = oracle.forecast(18)
    np.testing.assert_array_equal(end[:, 2:, :, 0], np.repeat(demand[:, -1:], 2, axis=1))


def test_error_tracker_hand_computed():
    tracker = ForecastErrorTracker(1, halflife_ticks=1.0, floor=np.ones(4), prior=0.3)
    np.testing.assert_allclose(tracker.error, 0.3)
    tracker.update(np.full((1, 4), 8.0), np.full((1, 4), 10.0))
    np.testing.assert_allclose(tracker.error, 0.2)  # bias-corrected: 2 / 10
    tracker.update(np.full((1, 4), 20.0), np.full((1, 4), 20.0))
    # decay 0.5: abs err 0.5 * 2 * 0.5 = 0.5, demand 0.5 * 10 * 0.5 + 0.5 * 20 = 12.5
    np.testing.assert_allclose(tracker.error, 0.5 / 12.5)
    tracker.reset()
    np.testing.assert_allclose(tracker.error, 0.3)


def test_demand_window_keeps_order():
    window = DemandWindow(2, 3)
    window.fill(np.arange(2 * 2 * 4, dtype=float).reshape(2, 2, 4))
    assert window.count == 2
    for value in (100.0, 200.0, 300.0):
        window.push(np.full((2, 4), value))
    np.testing.assert_array_equal(window.view()[0, :, 0], [100.0, 200.0, 300.0])
    window.fill(np.ones((2, 5, 4)) * np.arange(5)[None, :, None])
    np.testing.assert_array_equal(window.view()[1, :, 2], [2.0, 3.0, 4.0])


def test_chunked_precompute_equals_one_batch() -> None:
    rng = np.random.default_rng(6)
    demand = rng.uniform(0.0, 3.0, (4, 400, 4))
    forecaster = SeasonalNaiveForecaster(quantiles=(0.5, 0.9), interval_s=300.0, max_horizon=3600.0)
    forecaster.fit(demand[:, :300])
    one = PrecomputedForecasts(forecaster, demand, 6, chunk_origins=1000)
    chunked = PrecomputedForecasts(forecaster, demand, 6, chunk_origins=7)
    one.start(290, 340)
    chunked.start(290, 340)
    batch = forecaster.predict_origins(demand, np.arange(290, 341), 6)
    for tick in range(290, 341):
        got = chunked.forecast(tick)
        assert got.flags.c_contiguous
        assert not got.flags.writeable
        np.testing.assert_array_equal(got, one.forecast(tick))
        np.testing.assert_array_equal(got, batch[:, tick - 290])
