"""Forecaster.min_fit_history: the fewest ticks a fit takes, exactly."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.errors import ForecastError
from shadowsim.shadow.forecaster import Forecaster
from shadowsim.shadow.forecasters.ets import ETSForecaster
from shadowsim.shadow.forecasters.last_value import LastValueForecaster
from shadowsim.shadow.forecasters.lstm.forecaster import LSTMForecaster
from shadowsim.shadow.forecasters.seasonal_naive import SeasonalNaiveForecaster
from shadowsim.shadow.served_models import ServedModels

from .test_instance import _demand

LSTM_TRAIN = {"epochs": 1, "samples_per_epoch": 64, "batch_size": 32, "progress": False}


def _lstm(val_fraction: float) -> LSTMForecaster:
    return LSTMForecaster(
        horizon="1h", context="1h", patch=3, season="2h", hidden=8, head_hidden=8,
        train=LSTM_TRAIN | {"val_fraction": val_fraction},
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: LastValueForecaster(max_horizon="1h"),
        lambda: SeasonalNaiveForecaster(max_horizon="1h", season="2h"),
        lambda: ETSForecaster(max_horizon="1h", calibration="4h", model="ZNN"),
        lambda: _lstm(0.2),
        lambda: _lstm(0.5),
    ],
    ids=["last_value", "seasonal_naive", "ets", "lstm", "lstm_half_validation"],
)
def test_a_fit_takes_min_fit_history_ticks_and_not_one_fewer(make) -> None:
    model: Forecaster = make()
    need = model.min_fit_history
    assert need >= max(2, model.min_history)
    demand = _demand(need)[:1]
    model.fit(demand)
    assert model.n_apps == 1
    if need > 2:  # (two ticks is the floor of every history check)
        with pytest.raises(ForecastError, match=r"needs|too short|at least"):
            make().fit(demand[:, 1:])


def test_served_models_need_what_their_hungriest_part_needs() -> None:
    demand = _demand(600)
    first = LastValueForecaster(max_horizon="1h").fit(demand[:2])
    second = ETSForecaster(max_horizon="1h", calibration="4h", model="ZNN").fit(demand[2:])
    served = ServedModels([(slice(0, 2), first), (slice(2, 3), second)])
    assert served.min_fit_history == second.min_fit_history == 48 + 48
    assert np.isfinite(served.predict(demand[:, :300], 12)).all()
