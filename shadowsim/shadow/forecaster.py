"""The forecaster interface every shadow model implements.

A forecaster predicts, for many applications at once, the demand of the four resources
over a horizon of ticks, as quantiles. Histories and forecasts use the units of
:mod:`shadowsim.resources`.

Shapes:
    history: ``(n_apps, n_ticks, 4)``
    forecast: ``(n_apps, horizon, 4, n_quantiles)``, quantiles in increasing order.

A fitted forecaster is bound to the ``n_apps`` applications it was fitted on (their
per-application statistics are part of its state); ``predict`` takes the same applications,
in the same order.

Time: ``start_s`` is the Unix time of ``history[:, 0]`` in s (0 when unknown). Forecasters that
use calendar features (time of day, day of week) need it; the others ignore it.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from shadowsim.catalog import Catalog
from shadowsim.errors import ForecastError
from shadowsim.resources import N_RESOURCES

FORECASTERS: Catalog[type[Forecaster]] = Catalog("forecaster")
"""Every forecaster class by its ``name``."""

FORMAT_VERSION = 1
"""Version of the ``state()`` layout; bumped when the meta/array keys change."""


class Forecaster(ABC):
    """Base class of shadow forecasters.

    Subclasses set ``name``, register with ``@FORECASTERS.register(name)`` and keep all
    learned state in what :meth:`state` returns, so a saved model is JSON metadata plus
    numeric arrays and loading never unpickles objects.

    Args:
        quantiles: Quantile levels predicted, strictly increasing in (0, 1), e.g. ``(0.5, 0.9)``.
        interval_s: Tick length of the data it is fitted on, s.

    Attributes:
        quantiles: Quantile levels predicted.
        interval_s: Tick length, s.
        n_apps: Number of applications it was fitted on (0 before :meth:`fit`).
    """

    name: ClassVar[str]

    def __init__(self, quantiles: Sequence[float] = (0.5, 0.9), interval_s: float = 300.0):
        self.quantiles = check_quantiles(quantiles)
        if not float(interval_s) > 0:
            raise ForecastError(f"interval_s must be > 0 s, got {interval_s!r}")
        self.interval_s = float(interval_s)
        self.n_apps = 0

    @abstractmethod
    def fit(self, history: NDArray[np.float64], *, start_s: float = 0.0) -> Forecaster:
        """Learn from ``(n_apps, n_ticks, 4)`` history from Unix time ``start_s``; returns self."""

    @abstractmethod
    def predict(
        self, history: NDArray[np.float64], horizon: int, *, start_s: float = 0.0
    ) -> NDArray[np.float64]:
        """Forecast the next ``horizon`` ticks after the end of ``history``.

        Args:
            history: ``(n_apps, n_ticks, 4)`` recent demand, oldest first.
            horizon: Number of ticks to forecast, >= 1.
            start_s: Unix time of ``history[:, 0]``, s.

        Returns:
            ``(n_apps, horizon, 4, len(self.quantiles))`` demand quantiles.
        """

    def predict_origins(
        self,
        demand: NDArray[np.float64],
        origins: NDArray[np.int64],
        horizon: int,
        *,
        start_s: float = 0.0,
    ) -> NDArray[np.float64]:
        """Forecasts made at many origins of one series, each from the history before it.

        The forecast at origin ``t`` uses ``demand[:, :t]`` only and covers ticks
        ``t .. t + horizon - 1``. Subclasses override this with a batched version that gives
        exactly the same numbers as calling :meth:`predict` at each origin.

        Args:
            demand: ``(n_apps, n_ticks, 4)`` the whole series.
            origins: Increasing tick indices in ``[1, n_ticks]``.
            horizon: Number of ticks to forecast, >= 1.
            start_s: Unix time of ``demand[:, 0]``, s.

        Returns:
            ``(n_apps, len(origins), horizon, 4, n_quantiles)``.
        """
        demand = self.check_history(demand)
        origins = check_origins(origins, demand.shape[1])
        out = np.empty(
            (demand.shape[0], len(origins), horizon, N_RESOURCES, len(self.quantiles)),
        )
        for i, t in enumerate(origins):
            out[:, i] = self.predict(demand[:, :t], horizon, start_s=start_s)
        return out

    def forecast_at_end(
        self, history: NDArray[np.float64], horizon: int, *, start_s: float = 0.0
    ) -> NDArray[np.float64]:
        """:meth:`predict` through :meth:`predict_origins` at the end of ``history`` (for
        forecasters whose batched form is the primary one)."""
        hist = self.check_history(history, min_ticks=self.min_history, fitted=True)
        at_end = np.array([hist.shape[1]], dtype=np.int64)
        out: NDArray[np.float64] = self.predict_origins(hist, at_end, horizon, start_s=start_s)
        return out[:, 0]

    def checked_origins(
        self, demand: NDArray[np.float64], origins: NDArray[np.int64], horizon: int
    ) -> tuple[NDArray[np.float64], NDArray[np.int64], int]:
        """The arguments of :meth:`predict_origins` checked: a fitted model's series, a
        horizon >= 1, and increasing origins each with :attr:`min_history` ticks before it.

        Raises:
            ForecastError: Any of them is not.
        """
        demand = self.check_history(demand, min_ticks=self.min_history, fitted=True)
        horizon = check_horizon(horizon)
        origins = check_origins(origins, demand.shape[1])
        if origins[0] < self.min_history:
            raise ForecastError(
                f"{self.name}: the first origin {origins[0]} has fewer than the "
                f"{self.min_history} ticks of history this forecaster needs"
            )
        return demand, origins, horizon

    @property
    def min_history(self) -> int:
        """Fewest ticks of history :meth:`fit` and :meth:`predict` need (1 unless overridden)."""
        return 1

    @property
    def min_fit_history(self) -> int:
        """Fewest ticks of history :meth:`fit` needs (two unless overridden: a fit that
        calibrates or validates on its history needs more than a forecast does)."""
        return max(2, self.min_history)

    def update(self, history: NDArray[np.float64], *, start_s: float = 0.0) -> Forecaster:
        """Adapt online to new data (default: refit on ``history``); returns self."""
        return self.fit(history, start_s=start_s)

    @abstractmethod
    def state(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        """JSON-able hyper-parameters and numeric arrays that fully describe the model.

        The meta dict always holds ``forecaster`` (the catalog name), ``format_version``,
        ``quantiles``, ``interval_s`` and ``n_apps`` (see :meth:`base_meta`).
        """

    @classmethod
    @abstractmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> Forecaster:
        """Rebuild a forecaster from what :meth:`state` returned."""

    # -- helpers shared by subclasses -------------------------------------------------------

    def base_meta(self) -> dict[str, Any]:
        """The meta entries common to every forecaster."""
        return {
            "forecaster": self.name,
            "format_version": FORMAT_VERSION,
            "quantiles": list(self.quantiles),
            "interval_s": self.interval_s,
            "n_apps": self.n_apps,
        }

    def check_history(
        self, history: NDArray[np.float64], *, min_ticks: int = 1, fitted: bool = False
    ) -> NDArray[np.float64]:
        """Validate a history array and return it as float64.

        Args:
            history: Candidate ``(n_apps, n_ticks, 4)`` demand.
            min_ticks: Fewest ticks accepted.
            fitted: Also require a fitted model with the same number of applications.

        Raises:
            ForecastError: Wrong shape, too short, not finite, or not matching the fit.
        """
        arr = np.asarray(history, dtype=np.float64)
        if arr.ndim != 3 or arr.shape[2] != N_RESOURCES:
            raise ForecastError(
                f"{self.name}: history must have shape (n_apps, n_ticks, {N_RESOURCES}), "
                f"got {arr.shape}"
            )
        if arr.shape[0] == 0:
            raise ForecastError(f"{self.name}: history has no applications")
        if arr.shape[1] < min_ticks:
            raise ForecastError(
                f"{self.name}: needs at least {min_ticks} ticks of history, got {arr.shape[1]}"
            )
        if not np.isfinite(arr).all():
            app, tick, res = np.argwhere(~np.isfinite(arr))[0]
            raise ForecastError(
                f"{self.name}: history is not finite at app {app}, tick {tick}, resource {res}; "
                "fill gaps first"
            )
        if fitted:
            if self.n_apps == 0:
                raise ForecastError(f"{self.name}: call fit() before predict()")
            if arr.shape[0] != self.n_apps:
                raise ForecastError(
                    f"{self.name}: fitted on {self.n_apps} applications, got history for "
                    f"{arr.shape[0]}; pass the same applications in the same order"
                )
        return arr


def check_quantiles(quantiles: Sequence[float]) -> tuple[float, ...]:
    """Validate quantile levels: non-empty, strictly increasing, each in (0, 1).

    Raises:
        ForecastError: When they are not.
    """
    qs = tuple(float(q) for q in quantiles)
    if (
        not qs
        or any(not 0.0 < q < 1.0 for q in qs)
        or any(a >= b for a, b in itertools.pairwise(qs))
    ):
        raise ForecastError(
            f"quantiles must be strictly increasing levels in (0, 1), e.g. (0.5, 0.9); got {qs}"
        )
    return qs


def check_horizon(horizon: int) -> int:
    """Validate a horizon in ticks (an int >= 1).

    Raises:
        ForecastError: When it is not.
    """
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ForecastError(
            f"horizon must be an int number of ticks >= 1, got {horizon!r}; convert a duration "
            "with shadowsim.shadow.horizon.horizon_steps()"
        )
    return int(horizon)


def check_origins(origins: NDArray[np.int64] | Sequence[int], n_ticks: int) -> NDArray[np.int64]:
    """Validate forecast origins: strictly increasing ticks in ``[1, n_ticks]``.

    Raises:
        ForecastError: When they are not.
    """
    arr = np.asarray(origins, dtype=np.int64)
    if arr.ndim != 1 or len(arr) == 0:
        raise ForecastError(
            f"origins must be a non-empty 1-d array of ticks, got shape {arr.shape}"
        )
    if arr[0] < 1 or arr[-1] > n_ticks or (np.diff(arr) <= 0).any():
        raise ForecastError(
            f"origins must be strictly increasing ticks in [1, {n_ticks}], got {arr[0]}..{arr[-1]}"
        )
    return arr


def forecaster_from_state(meta: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> Forecaster:
    """Rebuild any forecaster from its saved state, dispatching on ``meta['forecaster']``.

    Raises:
        ForecastError: The meta has no forecaster name or an unknown format version.
        UnknownNameError: The forecaster name is not registered.
    """
    import shadowsim.shadow.forecasters  # noqa: F401  (registers the built-in forecasters)

    try:
        name = str(meta["forecaster"])
        version = int(meta["format_version"])
    except (KeyError, TypeError, ValueError) as err:
        raise ForecastError(
            f"forecaster meta lacks 'forecaster'/'format_version' entries: {sorted(meta)}"
        ) from err
    if version != FORMAT_VERSION:
        raise ForecastError(
            f"forecaster state has format_version {version}; this shadowsim reads {FORMAT_VERSION}"
        )
    return FORECASTERS.get(name).from_state(meta, arrays)
