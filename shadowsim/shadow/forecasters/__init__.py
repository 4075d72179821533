"""Concrete shadow forecasters; importing this package registers them in ``FORECASTERS``."""

from shadowsim.shadow.forecasters.last_value import LastValueConfig, LastValueForecaster
from shadowsim.shadow.forecasters.seasonal_naive import (
    SeasonalNaiveConfig,
    SeasonalNaiveForecaster,
)

__all__ = [
    "LastValueConfig",
    "LastValueForecaster",
    "SeasonalNaiveConfig",
    "SeasonalNaiveForecaster",
]
