"""The optional Prophet baseline, run for real when the extra is installed (CI installs it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("prophet", reason="the prophet extra is not installed (pip install prophet)")

from shadowsim.shadow.artifact import load_forecaster, save_forecaster
from shadowsim.shadow.forecasters import LastValueForecaster
from shadowsim.shadow.forecasters.prophet import ProphetForecaster

from .seasonal_data import seasonal_series

DAY = 288
INTERVAL_S = 300.0


def _demand() -> np.ndarray:
    return seasonal_series(2, 4 * DAY, DAY, noise=0.03)


@pytest.fixture(scope="module")
def fitted() -> ProphetForecaster:
    return ProphetForecaster((0.5, 0.9), INTERVAL_S).fit(_demand()[:, :-DAY])


def test_prophet_learns_daily_seasonality_better_than_last_value(fitted):
    demand = _demand()
    history, future = demand[:, :-DAY], demand[:, -DAY:]
    horizon = 24  # 2 h: far enough for the seasonal shape to matter
    forecast = fitted.predict(history, horizon)
    assert forecast.shape == (2, horizon, 4, 2)
    assert np.all(forecast[..., 0] <= forecast[..., 1])  # P50 <= P90
    last = LastValueForecaster((0.5, 0.9), INTERVAL_S, max_horizon="2h").fit(history)
    mae = np.abs(forecast[..., 0] - future[:, :horizon]).mean()
    mae_last = np.abs(last.predict(history, horizon)[..., 0] - future[:, :horizon]).mean()
    assert mae < 0.5 * mae_last


def test_prophet_round_trips_through_the_artifact_without_pickle(fitted, tmp_path: Path):
    save_forecaster(fitted, tmp_path / "m", app_ids=["a", "b"])
    loaded, meta = load_forecaster(tmp_path / "m")
    assert isinstance(loaded, ProphetForecaster)
    assert meta.app_ids == ("a", "b")
    history = _demand()[:, :-DAY]
    np.testing.assert_allclose(loaded.predict(history, 12), fitted.predict(history, 12))
