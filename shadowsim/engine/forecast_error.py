"""Recent relative forecast error per application and resource, as an O(1)-per-tick feature.

The engine compares, every tick, the P50 forecast made one tick earlier for this tick with
the demand that happened, and keeps exponentially weighted means (half-life
``halflife_ticks``) of the absolute error and of the demand:

``error[i, r] = EWMA(|demand - p50|) / max(EWMA(demand), floor[r])``

i.e. the recent MAE relative to the recent mean demand, the ``forecast_error`` observation
and the input of the pool sizing rule. The means are bias-corrected (as in Adam) so the
first ticks are not pulled towards zero. Before any comparison the error is ``prior``.

The full rolling accuracy report (MAE, RMSE, pinball, coverage) used by retraining triggers
is :class:`shadowsim.shadow.accuracy.RollingAccuracy`; this tracker is the cheap feature.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.resources import N_RESOURCES

F64 = NDArray[np.float64]


class ForecastErrorTracker:
    """EWMA relative MAE of a point forecast, vectorised over applications.

    Args:
        n_apps: Number of applications.
        halflife_ticks: Half-life of the exponential weights, ticks, > 0.
        floor: ``(4,)`` smallest mean demand divided by (vCPU, MiB, KB/s, KB/s), > 0.
        prior: Error reported before the first comparison.
    """

    def __init__(self, n_apps: int, halflife_ticks: float, floor: F64, prior: float = 0.0) -> None:
        self.decay = 0.5 ** (1.0 / halflife_ticks)
        self.floor = np.ascontiguousarray(
            np.broadcast_to(np.asarray(floor, dtype=np.float64), (n_apps, N_RESOURCES))
        )
        self._scratch = np.zeros((n_apps, N_RESOURCES))
        self.prior = float(prior)
        self._abs_err = np.zeros((n_apps, N_RESOURCES))
        self._demand = np.zeros((n_apps, N_RESOURCES))
        self._weight = 0.0
        self._error = np.full((n_apps, N_RESOURCES), self.prior)

    def reset(self) -> None:
        """Forget every comparison."""
        self._abs_err.fill(0.0)
        self._demand.fill(0.0)
        self._weight = 0.0
        self._error.fill(self.prior)

    def update(self, predicted: F64, actual: F64) -> None:
        """Add one tick's comparison of ``(A, 4)`` point forecasts with demand."""
        d = self.decay
        scratch = self._scratch
        np.subtract(actual, predicted, out=scratch)
        np.abs(scratch, out=scratch)
        scratch *= 1.0 - d
        self._abs_err *= d
        self._abs_err += scratch
        self._demand *= d
        np.multiply(actual, 1.0 - d, out=scratch)
        self._demand += scratch
        self._weight = self._weight * d + (1.0 - d)
        # the bias corrections of numerator and denominator cancel out in the ratio
        np.multiply(self.floor, self._weight, out=scratch)
        np.maximum(self._demand, scratch, out=scratch)
        np.divide(self._abs_err, scratch, out=self._error)

    @property
    def error(self) -> F64:
        """``(A, 4)`` recent relative MAE (callers must not modify it)."""
        return self._error

    @property
    def n_updates_weight(self) -> float:
        """Total weight of the comparisons so far (0 before the first, towards 1 after many)."""
        return self._weight
