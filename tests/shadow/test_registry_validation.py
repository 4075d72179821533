"""Held-back validation used for promotion: agrees with scoring origin by origin."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.errors import ForecastError
from shadowsim.shadow.forecasters import LastValueForecaster, SeasonalNaiveForecaster
from shadowsim.shadow.validation import ValidationWindow, validate

DAY = 288


def _demand(n_ticks: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    t = np.arange(n_ticks)
    cycle = 1.0 + 0.5 * np.sin(2 * np.pi * t / DAY)
    scale = np.array([1.0, 2000.0, 60.0, 30.0])
    return cycle[None, :, None] * scale * rng.gamma(30.0, 1 / 30.0, size=(3, n_ticks, 4))


def test_matches_origin_by_origin_scoring() -> None:
    demand = _demand(3 * DAY)
    model = SeasonalNaiveForecaster((0.1, 0.5, 0.9), 300.0, "1h", "1d").fit(demand[:, : 2 * DAY])
    window = ValidationWindow(demand, first_origin=2 * DAY, horizon=12, stride=5)
    score = validate(model, window)
    origins = window.origins
    assert origins[0] == 2 * DAY
    assert origins[-1] + 12 <= 3 * DAY < origins[-1] + 12 + 5
    fc = np.stack([model.predict(demand[:, :o], 12) for o in origins], axis=1)
    actual = np.stack([demand[:, o : o + 12] for o in origins], axis=1)
    err = actual - fc[..., 1]
    np.testing.assert_allclose(score.mae, np.abs(err).mean(axis=(0, 1, 2)))
    np.testing.assert_allclose(score.rmse, np.sqrt((err**2).mean(axis=(0, 1, 2))))
    wape = np.abs(err).sum(axis=(0, 1, 2)) / actual.sum(axis=(0, 1, 2))
    np.testing.assert_allclose(score.wape, wape)
    assert score.score == pytest.approx(wape.mean())
    np.testing.assert_allclose(
        score.coverage[:, 2], (actual <= fc[..., 2]).mean(axis=(0, 1, 2))
    )
    assert score.n_origins == len(origins)
    metrics = score.metrics()
    assert metrics["val_score"] == score.score
    assert metrics["val_p90_coverage_cpu"] == pytest.approx(score.coverage[0, 2])


def test_better_model_scores_lower() -> None:
    demand = _demand(3 * DAY)
    window = ValidationWindow(demand, first_origin=2 * DAY, horizon=12, stride=12)
    seasonal = SeasonalNaiveForecaster((0.5, 0.9), 300.0, "1h", "1d").fit(demand[:, : 2 * DAY])
    persist = LastValueForecaster((0.5, 0.9), 300.0, "1h").fit(demand[:, : 2 * DAY])
    assert validate(seasonal, window).score < validate(persist, window).score


def test_zero_demand_resource_is_left_out_of_the_score() -> None:
    demand = _demand(2 * DAY)
    demand[:, :, 2] = 0.0
    model = LastValueForecaster((0.5, 0.9), 300.0, "1h").fit(demand[:, :DAY])
    score = validate(model, ValidationWindow(demand, DAY, 12, 12))
    assert np.isnan(score.wape[2])
    assert score.score == pytest.approx(np.nanmean(score.wape))
    assert "val_wape_disk" not in score.metrics()


def test_window_errors() -> None:
    demand = _demand(DAY)
    with pytest.raises(ForecastError, match="cannot hold context"):
        ValidationWindow(demand, first_origin=DAY - 5, horizon=12)
    with pytest.raises(ForecastError, match="shape"):
        ValidationWindow(demand[0], first_origin=10, horizon=12)
    with pytest.raises(ForecastError, match="stride must be >= 1"):
        ValidationWindow(demand, first_origin=10, horizon=12, stride=0)
