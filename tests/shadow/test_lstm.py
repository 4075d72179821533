"""The quantile LSTM: shapes, monotone quantiles, learning, state, determinism, adaptation."""

from __future__ import annotations

import json
import logging
import time

import numpy as np
import pytest
import torch

from shadowsim.errors import ConfigError, ForecastError
from shadowsim.shadow.forecaster import forecaster_from_state
from shadowsim.shadow.forecasters.lstm import LSTMConfig, LSTMForecaster

from .lstm_helpers import one_torch_thread, small  # noqa: F401 (autouse fixture)
from .seasonal_data import seasonal_series

T0 = 1_375_308_000.0  # a Unix time, s
PERIOD = 48  # ticks: a 4 h "day" keeps the tests small


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return seasonal_series(6, 900, PERIOD, noise=0.03, seed=1)


@pytest.fixture(scope="module")
def fitted(data) -> LSTMForecaster:
    torch.set_num_threads(1)
    return small().fit(data[:, :700], start_s=T0)


def test_shapes_horizons_and_quantile_order(fitted, data) -> None:
    for h in (1, 5, 12):
        out = fitted.predict(data[:, :750], h, start_s=T0)
        assert out.shape == (6, h, 4, 2)
        assert np.isfinite(out).all()
        assert (out >= 0).all()
        assert (out[..., 1] >= out[..., 0]).all()
    assert fitted.report.epochs >= 1
    assert fitted.report.best_val_loss < 1.0


def test_three_quantiles_monotone(data) -> None:
    f = small(quantiles=(0.1, 0.5, 0.9), train={"epochs": 1}).fit(data[:, :700], start_s=T0)
    out = f.predict(data, 12, start_s=T0)
    assert (np.diff(out, axis=-1) >= 0).all()


def test_learns_seasonal_series_well_below_last_value() -> None:
    d = seasonal_series(8, 1400, PERIOD, noise=0.03, seed=2)
    t0 = time.perf_counter()
    train = {"epochs": 5, "samples_per_epoch": 4000, "lr": 5e-3}
    f = small(train=train).fit(d[:, :1100], start_s=T0)
    fit_s = time.perf_counter() - t0
    origins = np.arange(1100, 1388)
    fc = f.predict_origins(d, origins, 12, start_s=T0)[..., 0]
    target = np.stack([d[:, o : o + 12] for o in origins], axis=1)
    lstm_mae = np.abs(fc - target).mean()
    last = d[:, origins - 1][:, :, None, :]
    lv_mae = np.abs(last - target).mean()
    assert lstm_mae < 0.5 * lv_mae, (lstm_mae, lv_mae)
    assert fit_s < 60  # a few seconds on an idle core; generous for shared CI machines


def test_state_round_trip_is_json_and_arrays(fitted, data) -> None:
    meta, arrays = fitted.state()
    meta = json.loads(json.dumps(meta))
    assert all(isinstance(v, np.ndarray) for v in arrays.values())
    assert "scale" in arrays
    assert any(k.startswith("model.lstm") for k in arrays)
    g = forecaster_from_state(meta, {k: v.copy() for k, v in arrays.items()})
    np.testing.assert_array_equal(
        g.predict(data, 12, start_s=T0), fitted.predict(data, 12, start_s=T0)
    )
    bad = dict(arrays)
    bad["scale"] = bad["scale"][:3]
    with pytest.raises(ForecastError, match="scale has shape"):
        LSTMForecaster.from_state(meta, bad)
    del bad["model.lstm.weight_ih_l0"]
    with pytest.raises(ForecastError, match="mismatched state"):
        LSTMForecaster.from_state(meta, bad)


def test_same_seed_same_weights(data) -> None:
    a = small(train={"epochs": 1}).fit(data[:, :700], start_s=T0).state()[1]
    b = small(train={"epochs": 1}).fit(data[:, :700], start_s=T0).state()[1]
    c = small(seed=7, train={"epochs": 1}).fit(data[:, :700], start_s=T0).state()[1]
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not all(np.array_equal(a[k], c[k]) for k in a)


def test_lr_plateau_is_logged(data, caplog) -> None:
    cfg = {"epochs": 3, "lr": 1e-6, "plateau_patience": 0, "min_lr": 1e-9,
           "early_stop_patience": 10}  # fmt: skip
    with caplog.at_level(logging.INFO, logger="shadowsim.shadow.forecasters.lstm"):
        f = small(train=cfg).fit(data[:, :700], start_s=T0)
    assert f.report.lr_changes
    assert f.report.lr_changes[0][1] == 1e-6
    assert "plateaued" in caplog.text
    assert "learning rate 1e-06 -> 5e-07" in caplog.text


def test_update_uses_higher_rate_after_drift(fitted, data, caplog) -> None:
    f = LSTMForecaster.from_state(*fitted.state())
    with caplog.at_level(logging.INFO, logger="shadowsim.shadow.forecasters.lstm"):
        f.update(data[:, 300:750], start_s=T0 + 300 * 300.0)
        assert "no drift" in caplog.text
        assert "learning rate 0.0002" in caplog.text
        caplog.clear()
        shifted = data[:, 300:750].copy()
        shifted[:, -200:] *= 6.0  # the applications' behaviour changes
        before = f.predict(shifted, 12, start_s=T0 + 300 * 300.0)
        f.update(shifted, start_s=T0 + 300 * 300.0)
        assert "drift, fast adaptation" in caplog.text
        assert "learning rate 0.002" in caplog.text
    after = f.predict(shifted, 12, start_s=T0 + 300 * 300.0)
    assert not np.array_equal(before, after)


def test_tiled_serves_many_apps(fitted, data) -> None:
    big = fitted.tiled(15)
    hist = np.tile(data[:, :750], (3, 1, 1))[:15]
    out = big.predict(hist, 12, start_s=T0)
    assert out.shape == (15, 12, 4, 2)
    np.testing.assert_array_equal(out[6:12], fitted.predict(data[:, :750], 12, start_s=T0))


def test_bad_inputs(fitted, data) -> None:
    with pytest.raises(ConfigError, match=r"forecaster\.context"):
        small(context="50min", patch=3)
    with pytest.raises(ConfigError, match=r"forecaster\.train\.val_fraction"):
        small(train={"val_fraction": 1.5})
    with pytest.raises(ConfigError, match=r"forecaster\.horizon"):
        small(horizon="7min")
    with pytest.raises(ForecastError, match="trained for a horizon of 12 ticks"):
        fitted.predict(data, 13)
    with pytest.raises(ForecastError, match="needs at least 48 ticks"):
        fitted.predict(data[:, :20], 3)
    with pytest.raises(ForecastError, match="too short"):
        small().fit(data[:, :70])
    with pytest.raises(ForecastError, match="call fit"):
        small().predict(data, 3)


def test_config_builds_and_switches_horizon() -> None:
    cfg = LSTMConfig(hidden=8, context="1h", patch=3)
    f = cfg.with_horizon("12h").build(300.0)
    assert f.spec.horizon == 144
    assert f.spec.n_steps == 4
    assert LSTMConfig.per_horizon
