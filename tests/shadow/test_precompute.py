"""Forecast once, replay many: batched and online forecasts agree exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from shadowsim.errors import ArtifactError, ForecastError
from shadowsim.shadow.forecasters import (
    LastValueForecaster,
    LSTMForecaster,
    SeasonalNaiveForecaster,
    TrainConfig,
)
from shadowsim.shadow.precompute import ForecastReplay, online_forecasts, precompute_forecasts

from .seasonal_data import seasonal_series

T0 = 1_375_308_000.0


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return seasonal_series(5, 500, 48, seed=3)


def _lstm(data: np.ndarray, **kw) -> LSTMForecaster:
    torch.set_num_threads(1)
    f = LSTMForecaster(
        **kw,
        horizon="1h", context="1h", patch=3, season="4h", hidden=8, head_hidden=16,
        train=TrainConfig(epochs=1, samples_per_epoch=500, progress=False),
    )  # fmt: skip
    return f.fit(data[:, :400], start_s=T0)


@pytest.mark.parametrize("kind", ["last_value", "seasonal_naive", "lstm", "lstm_levels"])
def test_online_and_batched_agree_exactly(kind: str, data) -> None:
    if kind == "lstm":
        f = _lstm(data)
    elif kind == "lstm_levels":
        f = _lstm(data, level_spans=["30min", "2h"])
    elif kind == "last_value":
        f = LastValueForecaster(max_horizon="2h").fit(data[:, :400])
    else:
        f = SeasonalNaiveForecaster(season="4h").fit(data[:, :400])
    batched = precompute_forecasts(f, data, 12, 400, 460, start_s=T0)
    online = online_forecasts(f, data, 12, 400, 460, start_s=T0)
    assert batched.shape == (5, 60, 12, 4, 2)
    np.testing.assert_array_equal(batched, online)


def test_replay_lookup_and_round_trip(data, tmp_path) -> None:
    f = LastValueForecaster().fit(data[:, :400])
    replay = ForecastReplay.compute(f, data, 6, 400, 450)
    assert replay.stop == 450
    assert replay.forecaster == "last_value"
    np.testing.assert_array_equal(replay.at(410), f.predict(data[:, :410], 6))
    with pytest.raises(ForecastError, match=r"covers \[400, 450\)"):
        replay.at(450)
    path = replay.save(tmp_path / "fc.npz")
    back = ForecastReplay.load(path)
    np.testing.assert_array_equal(back.forecasts, replay.forecasts)
    assert (back.start, back.quantiles, back.forecaster) == (400, (0.5, 0.9), "last_value")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ArtifactError, match="not a forecast replay"):
        ForecastReplay.load(tmp_path / "junk.npz")


def test_bad_window(data) -> None:
    f = LastValueForecaster().fit(data[:, :400])
    with pytest.raises(ForecastError, match="1 <= start < stop"):
        precompute_forecasts(f, data, 6, 0, 10)
    with pytest.raises(ForecastError, match="1 <= start < stop"):
        online_forecasts(f, data, 6, 450, 600)
    with pytest.raises(ForecastError, match="horizon must be an int"):
        precompute_forecasts(f, data, 0, 400, 410)
