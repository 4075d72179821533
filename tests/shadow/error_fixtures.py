"""Data and forecasters shared by the error-path tests of tests/shadow."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.shadow.forecasters import LastValueForecaster

from .seasonal_data import seasonal_series

INTERVAL_S = 300.0
PERIOD = 48
HORIZON = 12


def _demand(n_apps: int = 2, n_ticks: int = 400) -> NDArray[np.float64]:
    return seasonal_series(n_apps, n_ticks, PERIOD, seed=3)


def _last_value() -> LastValueForecaster:
    return LastValueForecaster((0.5, 0.9), INTERVAL_S, max_horizon="1h")
