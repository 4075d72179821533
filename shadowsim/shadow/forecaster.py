"""The forecaster interface every shadow model implements.

A forecaster predicts, for many applications at once, the demand of the four resources
over a horizon of ticks, as quantiles. Histories and forecasts use the units of
:mod:`shadowsim.resources`.

Shapes:
    history: ``(n_apps, n_ticks, 4)``
    forecast: ``(n_apps, horizon, 4, n_quantiles)``, quantiles in increasing order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from shadowsim.catalog import Catalog

FORECASTERS: Catalog[type[Forecaster]] = Catalog("forecaster")
"""Every forecaster class by its ``name``."""


class Forecaster(ABC):
    """Base class of shadow forecasters.

    Subclasses set ``name``, register with ``@FORECASTERS.register(name)`` and keep all
    learned state in what :meth:`state` returns, so a saved model is JSON metadata plus
    numeric arrays and loading never unpickles objects.

    Attributes:
        quantiles: Quantile levels predicted, increasing, e.g. ``(0.5, 0.9)``.
        interval_s: Tick length of the data it was fitted on, s.
    """

    name: ClassVar[str]

    def __init__(self, quantiles: tuple[float, ...] = (0.5, 0.9), interval_s: float = 300.0):
        self.quantiles = tuple(float(q) for q in quantiles)
        self.interval_s = float(interval_s)

    @abstractmethod
    def fit(self, history: NDArray[np.float64]) -> Forecaster:
        """Learn from ``(n_apps, n_ticks, 4)`` history; returns self."""

    @abstractmethod
    def predict(self, history: NDArray[np.float64], horizon: int) -> NDArray[np.float64]:
        """Forecast the next ``horizon`` ticks after the end of ``history``.

        Args:
            history: ``(n_apps, n_ticks, 4)`` recent demand, oldest first.
            horizon: Number of ticks to forecast, >= 1.

        Returns:
            ``(n_apps, horizon, 4, len(self.quantiles))`` demand quantiles.
        """

    def update(self, history: NDArray[np.float64]) -> Forecaster:
        """Adapt online to new data (default: refit on ``history``); returns self."""
        return self.fit(history)

    @abstractmethod
    def state(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        """JSON-able hyper-parameters and numeric arrays that fully describe the model."""

    @classmethod
    @abstractmethod
    def from_state(
        cls, meta: dict[str, Any], arrays: dict[str, NDArray[Any]]
    ) -> Forecaster:
        """Rebuild a forecaster from what :meth:`state` returned."""
