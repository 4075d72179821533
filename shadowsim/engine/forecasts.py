"""Where the engine's forecasts come from: precomputed, online, or perfect foresight.

Tick convention (workload ticks, shared by every provider): ``forecast(t)`` is the forecast
made once the demand of ticks ``< t`` is known; entry ``k`` of its second axis covers tick
``t + k`` (so at the end of tick ``t - 1``, lead ``l`` is entry ``l - 1``).
``observe(t, demand)`` reports the demand of tick ``t``. ``start(first, last)`` prepares an
episode whose forecasts will be asked at origins ``first .. last``.

- :class:`PrecomputedForecasts` (fast mode): batched passes through
  :meth:`~shadowsim.shadow.forecaster.Forecaster.predict_origins`, kept across episodes;
  ``forecast`` is a lookup.
- :class:`OnlineForecasts`: predicts tick by tick from the demand it has observed (as the
  live system does), optionally refitting every ``refit_every_ticks``.
- :class:`ShadowServiceForecasts`: the shadow service (accuracy feedback, retraining
  triggers, MLflow registry) forecasting tick by tick.
- :class:`OracleForecasts`: the true future demand, every quantile equal to it (the oracle
  baseline's lower bound on cost at zero violations).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from shadowsim.engine.demand_window import DemandWindow
from shadowsim.engine.forecast_cache import DEFAULT_CACHE_BYTES, ForecastCache
from shadowsim.errors import ForecastError
from shadowsim.resources import N_RESOURCES
from shadowsim.shadow.forecaster import Forecaster, check_horizon, check_quantiles

if TYPE_CHECKING:
    from shadowsim.shadow.service import ShadowService

F64 = NDArray[np.float64]


@runtime_checkable
class ForecastProvider(Protocol):
    """A source of ``(A, horizon, 4, Q)`` forecasts for the engine (tick convention above)."""

    @property
    def quantiles(self) -> tuple[float, ...]:
        """Quantile levels of the forecasts."""
        ...

    @property
    def horizon(self) -> int:
        """Ticks covered by each forecast."""
        ...

    def start(self, first: int, last: int) -> None:
        """Prepare for forecasts at origins ``first .. last`` (inclusive)."""
        ...

    def forecast(self, tick: int) -> F64:
        """``(A, horizon, 4, Q)`` forecast of ticks ``tick .. tick + horizon - 1``."""
        ...

    def observe(self, tick: int, demand: F64) -> None:
        """Report the ``(A, 4)`` demand of tick ``tick``."""
        ...


def _check_demand(demand: F64) -> F64:
    arr = np.asarray(demand, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[2] != N_RESOURCES or arr.shape[1] == 0:
        raise ForecastError(
            f"demand must have shape (n_apps, n_ticks, {N_RESOURCES}), got {arr.shape}"
        )
    return arr


class _Range:
    """The origins prepared by ``start``, with a clear error outside them."""

    first = 0
    last = -1

    def check(self, tick: int, name: str) -> int:
        if not self.first <= tick <= self.last:
            raise ForecastError(
                f"{name}: forecast asked at tick {tick}, prepared for ticks "
                f"{self.first}..{self.last}; call start(first, last) for the episode first"
            )
        return tick - self.first


class PrecomputedForecasts:
    """Forecasts computed for a whole episode ahead, in batched passes (fast mode).

    :meth:`start` asks the forecaster for every origin of the episode, ``chunk_origins``
    origins per :meth:`~shadowsim.shadow.forecaster.Forecaster.predict_origins` call (each
    origin's forecast does not depend on the others asked with it, so the figures are those
    of one call; chunks keep the temporaries small), and stores them origin by origin, so
    that :meth:`forecast` returns one contiguous block: the compiled kernels read it without
    a cache miss per application. The chunks are kept across episodes
    (:class:`~shadowsim.engine.forecast_cache.ForecastCache`, up to ``cache_bytes`` besides
    the current episode's), so a reset recomputes only origins no recent episode covered.
    After refitting the forecaster call :meth:`clear`.

    Args:
        forecaster: A fitted forecaster for the workload's applications.
        demand: ``(A, N, 4)`` the workload's demand (origin ``t`` sees ``demand[:, :t]`` only).
        horizon: Ticks per forecast, >= 1.
        start_s: Unix time of tick 0, s.
        chunk_origins: Origins per batched call, >= 1.
        cache_bytes: Memory kept for chunks of past episodes, bytes, >= 0.
    """

    def __init__(
        self,
        forecaster: Forecaster,
        demand: F64,
        horizon: int,
        *,
        start_s: float = 0.0,
        chunk_origins: int = 256,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        self.forecaster = forecaster
        self.demand = _check_demand(demand)
        self._horizon = check_horizon(horizon)
        self.start_s = float(start_s)
        self.cache = ForecastCache(
            forecaster,
            self.demand,
            self._horizon,
            start_s=self.start_s,
            chunk_origins=chunk_origins,
            max_bytes=cache_bytes,
        )
        self.chunk_origins = self.cache.chunk_origins
        self._range = _Range()
        self._blocks: list[F64] = []
        self._block_starts: list[int] = []
        self._first_chunk = 0

    @property
    def quantiles(self) -> tuple[float, ...]:
        """Quantile levels of the forecaster."""
        return tuple(self.forecaster.quantiles)

    @property
    def horizon(self) -> int:
        """Ticks covered by each forecast."""
        return self._horizon

    def clear(self) -> None:
        """Forget the forecasts kept from past episodes (after refitting the forecaster)."""
        self.cache.clear()

    def start(self, first: int, last: int) -> None:
        """Forecast every origin ``first .. last`` (or find them among past episodes')."""
        entries = self.cache.prepare(first, last)
        self._blocks = [block for _, block in entries]
        self._block_starts = [begin for begin, _ in entries]
        self._first_chunk = first // self.chunk_origins
        self._range.first, self._range.last = first, last

    def forecast(self, tick: int) -> F64:
        """The precomputed forecast at origin ``tick`` (a read-only, contiguous view)."""
        self._range.check(tick, "PrecomputedForecasts")
        i = tick // self.chunk_origins - self._first_chunk
        result: F64 = self._blocks[i][tick - self._block_starts[i]]
        return result

    def observe(self, tick: int, demand: F64) -> None:
        """Nothing to do: the forecasts were computed from the workload already."""


class OnlineForecasts:
    """Forecasts made tick by tick from the observed demand, as in live operation.

    Args:
        forecaster: A fitted forecaster for the workload's applications.
        demand: ``(A, N, 4)`` the workload's demand; only the ``context_ticks`` before the
            first origin are read at :meth:`start`, later ticks arrive through :meth:`observe`.
        horizon: Ticks per forecast, >= 1.
        context_ticks: Ticks of history given to each prediction, >= 1.
        refit_every_ticks: Call ``forecaster.update`` on the context every so many observed
            ticks (None = never).
        start_s: Unix time of tick 0, s.
    """

    def __init__(
        self,
        forecaster: Forecaster,
        demand: F64,
        horizon: int,
        *,
        context_ticks: int,
        refit_every_ticks: int | None = None,
        start_s: float = 0.0,
    ) -> None:
        if context_ticks < 1:
            raise ForecastError(f"context_ticks must be >= 1, got {context_ticks}")
        if refit_every_ticks is not None and refit_every_ticks < 1:
            raise ForecastError(f"refit_every_ticks must be >= 1 or None, got {refit_every_ticks}")
        self.forecaster = forecaster
        self.demand = _check_demand(demand)
        self._horizon = check_horizon(horizon)
        self.context = int(context_ticks)
        self.refit_every = refit_every_ticks
        self.start_s = float(start_s)
        self._window = DemandWindow(self.demand.shape[0], self.context)
        self._next = 0
        self._seen = 0

    @property
    def quantiles(self) -> tuple[float, ...]:
        """Quantile levels of the forecaster."""
        return tuple(self.forecaster.quantiles)

    @property
    def horizon(self) -> int:
        """Ticks covered by each forecast."""
        return self._horizon

    def start(self, first: int, last: int) -> None:
        """Load the context before ``first``; later demand must come through :meth:`observe`."""
        if not 1 <= first <= last:
            raise ForecastError(f"origins {first}..{last} must satisfy 1 <= first <= last")
        self._window.fill(self.demand[:, max(0, first - self.context) : first])
        self._next = first
        self._seen = 0

    def _start_s(self) -> float:
        """Unix time of the oldest tick in the context, s."""
        oldest = self._next - self._window.count
        return self.start_s + oldest * self.forecaster.interval_s

    def forecast(self, tick: int) -> F64:
        """Predict from the demand observed before ``tick``."""
        if tick != self._next:
            raise ForecastError(
                f"OnlineForecasts: asked at tick {tick} but has observed demand up to tick "
                f"{self._next - 1}; observe every tick in order"
            )
        return self.forecaster.predict(self._window.view(), self._horizon, start_s=self._start_s())

    def observe(self, tick: int, demand: F64) -> None:
        """Append the demand of tick ``tick`` (ticks must arrive in order)."""
        if tick != self._next:
            raise ForecastError(
                f"OnlineForecasts: observed tick {tick}, expected tick {self._next}"
            )
        self._window.push(demand)
        self._next += 1
        self._seen += 1
        if self.refit_every is not None and self._seen % self.refit_every == 0:
            history = np.ascontiguousarray(self._window.view())
            self.forecaster.update(history, start_s=self._start_s())


class OracleForecasts:
    """Perfect foresight: every quantile equals the true future demand.

    Args:
        demand: ``(A, N, 4)`` the workload's demand.
        horizon: Ticks per forecast, >= 1.
        quantiles: Levels reported (all equal to the truth).

    Beyond the end of the workload the last tick's demand is repeated.
    """

    def __init__(
        self, demand: F64, horizon: int, quantiles: tuple[float, ...] = (0.5, 0.9)
    ) -> None:
        arr = _check_demand(demand)
        self._horizon = check_horizon(horizon)
        self._quantiles = check_quantiles(quantiles)
        pad = np.repeat(arr[:, -1:], self._horizon, axis=1)
        self._padded = np.concatenate([arr, pad], axis=1)
        self._n_ticks = arr.shape[1]
        self._range = _Range()

    @property
    def quantiles(self) -> tuple[float, ...]:
        """Quantile levels reported."""
        return self._quantiles

    @property
    def horizon(self) -> int:
        """Ticks covered by each forecast."""
        return self._horizon

    def start(self, first: int, last: int) -> None:
        """Check the origins lie within the workload."""
        if not 0 <= first <= last <= self._n_ticks:
            raise ForecastError(f"origins {first}..{last} must lie within 0..{self._n_ticks}")
        self._range.first, self._range.last = first, last

    def forecast(self, tick: int) -> F64:
        """The true demand of ticks ``tick .. tick + horizon - 1`` (a read-only view)."""
        self._range.check(tick, "OracleForecasts")
        window = self._padded[:, tick : tick + self._horizon, :, None]
        result: F64 = np.broadcast_to(window, (*window.shape[:3], len(self._quantiles)))
        return result

    def observe(self, tick: int, demand: F64) -> None:
        """Nothing to do: the oracle knows the future."""


class ShadowServiceForecasts:
    """Forecasts from a :class:`~shadowsim.shadow.service.ShadowService`, tick by tick.

    The service scores its own forecasts, checks its retraining triggers and retrains at the
    simulated moment (registering models in its MLflow registry), exactly as in live
    operation. :meth:`start` bootstraps it on the ``context_ticks`` before the first origin
    (reusing registry champions when its config says so).

    Args:
        service: The shadow service of the workload's applications (same order).
        demand: ``(A, N, 4)`` the workload's demand; only the context before the first
            origin is read at :meth:`start`, later ticks arrive through :meth:`observe`.
        start_s: Unix time of tick 0, s.
        context_ticks: History given to the bootstrap; None = the service's training plus
            validation windows.
    """

    def __init__(
        self,
        service: ShadowService,
        demand: F64,
        *,
        start_s: float = 0.0,
        context_ticks: int | None = None,
    ) -> None:
        self.service = service
        self.demand = _check_demand(demand)
        if self.demand.shape[0] != len(service.app_ids):
            raise ForecastError(
                f"the shadow service serves {len(service.app_ids)} applications, the demand has "
                f"{self.demand.shape[0]}; build the service with the workload's app ids"
            )
        self.start_s = float(start_s)
        ticks = service.ticks
        self.context = context_ticks or ticks["train"] + ticks["validation"]
        self._next = 0

    @property
    def quantiles(self) -> tuple[float, ...]:
        """Quantile levels of the service."""
        return tuple(self.service.quantiles)

    @property
    def horizon(self) -> int:
        """Ticks covered by each forecast (the service's horizon)."""
        return int(self.service.horizon)

    def start(self, first: int, last: int) -> None:
        """Bootstrap the service on the context before ``first``."""
        if not 1 <= first <= last:
            raise ForecastError(f"origins {first}..{last} must satisfy 1 <= first <= last")
        lo = max(0, first - self.context)
        interval = self.service.interval_s
        self.service.bootstrap(self.demand[:, lo:first], self.start_s + lo * interval)
        self._next = first

    def forecast(self, tick: int) -> F64:
        """The service's forecast issued after observing tick ``tick - 1``."""
        if tick != self._next:
            raise ForecastError(
                f"ShadowServiceForecasts: asked at tick {tick}, the service has observed demand "
                f"up to tick {self._next - 1}; observe every tick in order"
            )
        return self.service.forecast()

    def observe(self, tick: int, demand: F64) -> None:
        """Feed the demand of tick ``tick`` to the service (scores, triggers, retrains)."""
        if tick != self._next:
            raise ForecastError(
                f"ShadowServiceForecasts: observed tick {tick}, expected tick {self._next}"
            )
        self.service.step(self.start_s + tick * self.service.interval_s, demand)
        self._next += 1
