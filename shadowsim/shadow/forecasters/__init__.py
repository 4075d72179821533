"""Concrete shadow forecasters; importing this package registers them in ``FORECASTERS``.

``last_value``, ``seasonal_naive`` and ``ets`` are statistical baselines, ``lstm`` the torch
quantile LSTM, ``prophet`` an optional extra. Heavy libraries (statsforecast, prophet) load
only when their forecaster is fitted or loaded.
"""

from shadowsim.shadow.forecasters.ets import ETSConfig, ETSForecaster
from shadowsim.shadow.forecasters.last_value import LastValueConfig, LastValueForecaster
from shadowsim.shadow.forecasters.lstm import LSTMConfig, LSTMForecaster, TrainConfig
from shadowsim.shadow.forecasters.prophet import ProphetConfig, ProphetForecaster
from shadowsim.shadow.forecasters.seasonal_naive import (
    SeasonalNaiveConfig,
    SeasonalNaiveForecaster,
)

__all__ = [
    "ETSConfig",
    "ETSForecaster",
    "LSTMConfig",
    "LSTMForecaster",
    "LastValueConfig",
    "LastValueForecaster",
    "ProphetConfig",
    "ProphetForecaster",
    "SeasonalNaiveConfig",
    "SeasonalNaiveForecaster",
    "TrainConfig",
]
