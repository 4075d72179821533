"""Statistical baselines: shapes, quantile order, state round trip, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from shadowsim.errors import ConfigError, ForecastError, UnknownNameError
from shadowsim.shadow.forecaster import FORECASTERS, Forecaster, forecaster_from_state
from shadowsim.shadow.forecasters import (
    LastValueConfig,
    LastValueForecaster,
    SeasonalNaiveConfig,
    SeasonalNaiveForecaster,
)

from .seasonal_data import seasonal_series


@pytest.fixture
def seasonal() -> NDArray[np.float64]:
    """5 apps, 600 ticks, period 48 ticks."""
    return seasonal_series(5, 600, 48)


BASELINES = [
    lambda: LastValueForecaster((0.1, 0.5, 0.9), interval_s=300, max_horizon="12h"),
    lambda: SeasonalNaiveForecaster((0.5, 0.9), interval_s=300, max_horizon="1d", season="4h"),
]


@pytest.mark.parametrize("make", BASELINES)
@pytest.mark.parametrize("horizon", [1, 12, 100])
def test_shapes_and_quantile_order(make, horizon: int, seasonal: NDArray[np.float64]) -> None:
    f: Forecaster = make().fit(seasonal[:, :400])
    out = f.predict(seasonal[:, :450], horizon)
    assert out.shape == (5, horizon, 4, len(f.quantiles))
    assert np.isfinite(out).all()
    assert (out >= 0).all()
    assert (np.diff(out, axis=-1) >= 0).all()
    assert (out[..., -1] > out[..., 0]).mean() > 0.9


def test_last_value_point_is_last_observation(seasonal: NDArray[np.float64]) -> None:
    f = LastValueForecaster((0.5,), max_horizon="1h").fit(seasonal)
    out = f.predict(seasonal, 3)
    # the median residual of noisy data is near zero, so P50 ~= last value
    np.testing.assert_allclose(out[:, 0, :, 0], seasonal[:, -1], rtol=0.1)


def test_seasonal_naive_beats_last_value_on_seasonal_series(seasonal) -> None:
    train, test = seasonal[:, :500], seasonal[:, 500:]
    sn = SeasonalNaiveForecaster((0.5, 0.9), season=48 * 300).fit(train)
    lv = LastValueForecaster((0.5, 0.9)).fit(train)
    origins = np.arange(500, 576)
    err = {}
    for f in (sn, lv):
        fc = f.predict_origins(seasonal, origins, 24)[..., 0]
        target = np.stack([seasonal[:, o : o + 24] for o in origins], axis=1)
        err[f.name] = np.abs(fc - target).mean()
    assert test.shape[1] == 100
    assert err["seasonal_naive"] < 0.5 * err["last_value"]


def test_p90_coverage_close_to_nominal(seasonal) -> None:
    f = SeasonalNaiveForecaster((0.5, 0.9), season=48 * 300).fit(seasonal[:, :400])
    origins = np.arange(400, 580)
    fc = f.predict_origins(seasonal, origins, 12)
    target = np.stack([seasonal[:, o : o + 12] for o in origins], axis=1)
    cover = (target <= fc[..., 1]).mean()
    assert 0.85 <= cover <= 0.95


@pytest.mark.parametrize("make", BASELINES)
def test_state_round_trip(make, seasonal) -> None:
    f = make().fit(seasonal[:, :400])
    meta, arrays = f.state()
    import json

    meta = json.loads(json.dumps(meta))
    g = forecaster_from_state(meta, {k: v.copy() for k, v in arrays.items()})
    assert type(g) is type(f)
    np.testing.assert_array_equal(g.predict(seasonal, 30), f.predict(seasonal, 30))


def test_configs_build() -> None:
    assert LastValueConfig(max_horizon="2h").build(60.0).max_steps == 120
    f = SeasonalNaiveConfig(season="1d").build(300.0)
    assert f.season_steps == 288
    with pytest.raises(ConfigError, match=r"forecaster\.season"):
        SeasonalNaiveConfig(season="7min").build(300.0)
    assert {"last_value", "seasonal_naive"} <= set(FORECASTERS.names())
    with pytest.raises(UnknownNameError, match="Did you mean 'last_value'"):
        FORECASTERS.get("last_valeu")


def test_bad_inputs_raise(seasonal) -> None:
    f = LastValueForecaster()
    with pytest.raises(ForecastError, match="call fit"):
        f.predict(seasonal, 3)
    with pytest.raises(ForecastError, match=r"shape \(n_apps, n_ticks, 4\)"):
        f.fit(seasonal[..., :3])
    bad = seasonal.copy()
    bad[1, 7, 2] = np.nan
    with pytest.raises(ForecastError, match="app 1, tick 7, resource 2"):
        f.fit(bad)
    f.fit(seasonal)
    with pytest.raises(ForecastError, match="fitted on 5 applications"):
        f.predict(seasonal[:3], 3)
    with pytest.raises(ForecastError, match="horizon must be an int"):
        f.predict(seasonal, 0)
    with pytest.raises(ForecastError, match="strictly increasing"):
        LastValueForecaster((0.9, 0.5))
    with pytest.raises(ForecastError, match="at least"):
        LastValueForecaster().fit(seasonal[:, :5])
    sn = SeasonalNaiveForecaster(season="4h").fit(seasonal)
    with pytest.raises(ForecastError, match="at least 48 ticks"):
        sn.predict(seasonal[:, :20], 3)
    early = r"seasonal_naive: the first origin 20 has fewer than the 48 ticks of history"
    with pytest.raises(ForecastError, match=early):
        sn.predict_origins(seasonal, np.array([20, 60]), 3)
    with pytest.raises(ForecastError, match="format_version"):
        forecaster_from_state({"forecaster": "last_value"}, {})


def test_conf_forecaster_yaml_files_build() -> None:
    from pathlib import Path

    import hydra.utils
    from omegaconf import OmegaConf

    from shadowsim.shadow.forecasters.configs import forecaster_config_from_node

    folder = Path(__file__).resolve().parents[2] / "conf" / "forecaster"
    names = sorted(p.stem for p in folder.glob("*.yaml"))
    assert names == ["ets", "last_value", "lstm", "lstm_regularised", "prophet", "seasonal_naive"]
    variant_of = {"lstm_regularised": "lstm"}  # options that configure another forecaster
    for name in names:
        node = OmegaConf.load(folder / f"{name}.yaml")
        cfg = forecaster_config_from_node(node, key=f"forecasters.{name}")
        f = cfg.with_horizon("1h").build(300.0)
        assert f.name == variant_of.get(name, name)
        if name != "prophet":  # instantiate gives the forecaster itself (no fit: no prophet)
            made = hydra.utils.instantiate(node, _convert_="all")
            assert type(made) is type(f)
    node = OmegaConf.load(folder / "lstm.yaml")
    node.hiden = 3
    with pytest.raises(ConfigError, match=r"forecasters\.lstm\.hiden.*unknown key"):
        forecaster_config_from_node(node, key="forecasters.lstm")
    with pytest.raises(ConfigError, match=r"_target_.*not a forecaster"):
        forecaster_config_from_node({"_target_": "shadowsim.catalog.Catalog"})
