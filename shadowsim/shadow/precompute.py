"""Forecast once, replay many: every forecast of a whole window in one batched pass.

Trace demand does not depend on a policy's actions, so the forecasts a shadow model would
make at each tick of an episode can be computed up front and replayed by every episode and
policy. The forecast made at tick ``t`` uses ``demand[:, :t]`` (the ticks before ``t``) and
covers ticks ``t .. t + horizon - 1``.

:func:`precompute_forecasts` is the batched path, :func:`online_forecasts` the tick-by-tick
path used live; for the same data and model they give the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ArtifactError, ForecastError
from shadowsim.shadow.forecaster import Forecaster, check_horizon


def _origins(demand: NDArray[np.float64], start: int, stop: int) -> NDArray[np.int64]:
    n_ticks = np.asarray(demand).shape[1]
    if not 1 <= start < stop <= n_ticks:
        raise ForecastError(
            f"precompute: need 1 <= start < stop <= n_ticks = {n_ticks}, got start={start}, "
            f"stop={stop}; the first forecast needs at least one tick of history"
        )
    return np.arange(start, stop, dtype=np.int64)


def precompute_forecasts(
    forecaster: Forecaster,
    demand: NDArray[np.float64],
    horizon: int,
    start: int,
    stop: int,
    *,
    start_s: float = 0.0,
) -> NDArray[np.float64]:
    """Forecasts made at every tick ``start <= t < stop``, in one batched pass.

    Args:
        forecaster: A fitted forecaster for the workload's applications.
        demand: ``(n_apps, n_ticks, 4)`` the workload's demand.
        horizon: Ticks per forecast.
        start: First origin tick (>= the forecaster's history needs).
        stop: One past the last origin tick (<= ``n_ticks``).
        start_s: Unix time of ``demand[:, 0]``, s.

    Returns:
        ``(n_apps, stop - start, horizon, 4, n_quantiles)``.
    """
    check_horizon(horizon)
    return forecaster.predict_origins(
        demand, _origins(demand, start, stop), horizon, start_s=start_s
    )


def online_forecasts(
    forecaster: Forecaster,
    demand: NDArray[np.float64],
    horizon: int,
    start: int,
    stop: int,
    *,
    start_s: float = 0.0,
) -> NDArray[np.float64]:
    """The same forecasts as :func:`precompute_forecasts`, made tick by tick as live.

    Each tick calls :meth:`Forecaster.predict` on the history seen so far, as the live
    adapter does.
    """
    check_horizon(horizon)
    origins = _origins(demand, start, stop)
    first = forecaster.predict(demand[:, : origins[0]], horizon, start_s=start_s)
    out = np.empty((first.shape[0], len(origins), *first.shape[1:]))
    out[:, 0] = first
    for i, t in enumerate(origins[1:], start=1):
        out[:, i] = forecaster.predict(demand[:, :t], horizon, start_s=start_s)
    return out


@dataclass(frozen=True)
class ForecastReplay:
    """Precomputed forecasts of a window, looked up by tick.

    Attributes:
        forecasts: ``(n_apps, n_origins, horizon, 4, n_quantiles)``.
        start: Tick of the first origin.
        quantiles: Quantile levels along the last axis.
        forecaster: Name of the forecaster that made them.
    """

    forecasts: NDArray[np.float64]
    start: int
    quantiles: tuple[float, ...]
    forecaster: str = ""

    @classmethod
    def compute(
        cls,
        forecaster: Forecaster,
        demand: NDArray[np.float64],
        horizon: int,
        start: int,
        stop: int,
        *,
        start_s: float = 0.0,
    ) -> ForecastReplay:
        """Run :func:`precompute_forecasts` and wrap the result."""
        fc = precompute_forecasts(forecaster, demand, horizon, start, stop, start_s=start_s)
        return cls(fc, start, forecaster.quantiles, forecaster.name)

    @property
    def stop(self) -> int:
        """One past the last origin tick."""
        return self.start + int(self.forecasts.shape[1])

    def at(self, tick: int) -> NDArray[np.float64]:
        """``(n_apps, horizon, 4, n_quantiles)`` forecast made at ``tick``.

        Raises:
            ForecastError: ``tick`` is outside the precomputed window.
        """
        if not self.start <= tick < self.stop:
            raise ForecastError(
                f"no precomputed forecast at tick {tick}: the replay covers "
                f"[{self.start}, {self.stop}); precompute a wider window"
            )
        out: NDArray[np.float64] = self.forecasts[:, tick - self.start]
        return out

    def save(self, path: str | Path) -> Path:
        """Write an ``.npz`` (plain arrays, no pickle); returns the path."""
        path = Path(path)
        np.savez(
            path,
            forecasts=self.forecasts,
            start=np.int64(self.start),
            quantiles=np.asarray(self.quantiles),
            forecaster=np.str_(self.forecaster),
        )
        return path if path.suffix == ".npz" else path.with_suffix(path.suffix + ".npz")

    @classmethod
    def load(cls, path: str | Path) -> ForecastReplay:
        """Read what :meth:`save` wrote.

        Raises:
            ArtifactError: The file is missing, not an npz, or lacks an entry.
        """
        try:
            with np.load(path, allow_pickle=False) as data:
                items: dict[str, Any] = {k: data[k] for k in data.files}
            return cls(
                np.asarray(items["forecasts"], dtype=np.float64),
                int(items["start"]),
                tuple(float(q) for q in items["quantiles"]),
                str(items["forecaster"]),
            )
        except (OSError, ValueError, KeyError) as err:
            raise ArtifactError(f"{path}: not a forecast replay file: {err}") from err
