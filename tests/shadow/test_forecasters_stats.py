"""ETS (statsforecast) and Prophet baselines: shapes, quantiles, state, clear errors."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from shadowsim.errors import ForecastError
from shadowsim.shadow.forecaster import forecaster_from_state
from shadowsim.shadow.forecasters import ETSForecaster, ProphetForecaster

from .seasonal_data import seasonal_series


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return seasonal_series(2, 700, 48, noise=0.05, seed=4)


@pytest.fixture(scope="module")
def ets(data) -> ETSForecaster:
    f = ETSForecaster(max_horizon="1h", model="ANN", context="4h", calibration="12h",
                      calibration_origins=24)  # fmt: skip
    return f.fit(data[:, :600])


def test_ets_shapes_quantiles_and_state(ets, data) -> None:
    out = ets.predict(data[:, :620], 12)
    assert out.shape == (2, 12, 4, 2)
    assert (np.diff(out, axis=-1) >= 0).all()
    assert (out >= 0).all()
    assert all(c.startswith("ANN") for c in ets.components)
    meta, arrays = ets.state()
    g = forecaster_from_state(json.loads(json.dumps(meta)), arrays)
    np.testing.assert_array_equal(g.predict(data[:, :620], 12), out)
    batched = ets.predict_origins(data, np.array([610, 620]), 12)
    np.testing.assert_array_equal(batched[:, 1], out)


def test_ets_p90_covers_most_of_the_test(ets, data) -> None:
    origins = np.arange(600, 680, 4)
    fc = ets.predict_origins(data, origins, 12)
    target = np.stack([data[:, o : o + 12] for o in origins], axis=1)
    assert 0.7 <= (target <= fc[..., 1]).mean() <= 1.0


def test_ets_bad_inputs(ets, data) -> None:
    early = "ets: the first origin 1 has fewer than the 2 ticks of history"
    with pytest.raises(ForecastError, match=early):
        ets.predict_origins(data, np.array([1, 620]), 12)
    with pytest.raises(ForecastError, match="calibration"):
        ETSForecaster(max_horizon="1d", calibration="12h")
    with pytest.raises(ForecastError, match="needs at least"):
        ETSForecaster(max_horizon="1h", calibration="12h").fit(data[:, :100])


@pytest.mark.skipif(importlib.util.find_spec("prophet") is not None, reason="prophet installed")
def test_prophet_missing_names_the_extra(data) -> None:
    with pytest.raises(ForecastError, match=r"pip install shadowsim\[prophet\]"):
        ProphetForecaster().fit(data)
