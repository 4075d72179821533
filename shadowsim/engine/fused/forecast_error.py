"""The forecast error feature updated in one compiled pass: :class:`FusedForecastErrorTracker`.

Same state, same arithmetic in the same order as
:class:`~shadowsim.engine.forecast_error.ForecastErrorTracker` (so the same figures, bit for
bit), in one numba call per tick instead of a dozen numpy calls.

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.engine.forecast_error import ForecastErrorTracker
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.jit import njit

F64 = NDArray[np.float64]


@njit
def _update(  # pragma: no cover - compiled
    predicted: F64,
    actual: F64,
    abs_err: F64,
    demand: F64,
    floor: F64,
    error: F64,
    decay: float,
    weight: float,
) -> None:
    """One tick of the EWMA means and the relative error (``weight`` already updated)."""
    keep = 1.0 - decay
    for a in range(actual.shape[0]):
        for r in range(N_RESOURCES):
            x = actual[a, r]
            abs_err[a, r] = abs_err[a, r] * decay + abs(x - predicted[a, r]) * keep
            mean = demand[a, r] * decay + x * keep
            demand[a, r] = mean
            low = floor[a, r] * weight
            if not mean >= low and not np.isnan(mean):  # np.maximum(mean, low)
                mean = low
            error[a, r] = abs_err[a, r] / mean


@njit
def _update_from(  # pragma: no cover - compiled
    forecast: F64,
    median: int,
    actual: F64,
    abs_err: F64,
    demand: F64,
    floor: F64,
    error: F64,
    decay: float,
    weight: float,
) -> None:
    """:func:`_update` with ``predicted = forecast[:, 0, :, median]`` (the lead-1 P50)."""
    _update(forecast[:, 0, :, median], actual, abs_err, demand, floor, error, decay, weight)


class FusedForecastErrorTracker(ForecastErrorTracker):
    """:class:`ForecastErrorTracker` whose :meth:`update` is one compiled call."""

    def update(self, predicted: F64, actual: F64) -> None:
        """Add one tick's comparison of ``(A, 4)`` point forecasts with demand."""
        weight = self.next_weight()
        _update(
            predicted,
            actual,
            self._abs_err,
            self._demand,
            self.floor,
            self._error,
            self.decay,
            weight,
        )

    def kernel_arrays(self) -> tuple[F64, F64, F64, F64]:
        """The arrays the compiled update writes: EWMA of the absolute error, EWMA of the
        demand, the ``(A, 4)`` floor and the error (for fused callers)."""
        return self._abs_err, self._demand, self.floor, self._error

    def next_weight(self) -> float:
        """Count one comparison in the bias-correction weight and return the new weight
        (what :meth:`update` does before its kernel; for fused callers)."""
        d = self.decay
        self._weight = self._weight * d + (1.0 - d)
        return self._weight
