"""The engine's per-tick bookkeeping as one compiled call: :class:`FusedTickUpdate`.

After each advance the engine compares the lead-1 P50 forecast with the demand that
happened (:class:`~shadowsim.engine.forecast_error.ForecastErrorTracker`), appends the
demand to its window (:class:`~shadowsim.engine.demand_window.DemandWindow`) and sums the
new snapshot's allocations per application
(:meth:`~shadowsim.engine.component_map.ComponentMap.app_allocation`, which the observation,
the codec and the guardrails then read from its cache). With the compiled parts
(:mod:`shadowsim.engine.fused`) :class:`FusedTickUpdate` does the three in one numba call
on the parts' own arrays, with their kernels' arithmetic: the same state, bit for bit, as
calling the three parts in turn.

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import ClusterState
from shadowsim.engine.fused.component_map import FusedComponentMap, _pair_sums
from shadowsim.engine.fused.demand_window import FusedDemandWindow, push_scaled
from shadowsim.engine.fused.forecast_error import FusedForecastErrorTracker, _update_from
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.jit import njit

F64 = NDArray[np.float64]


@njit
def _tick(  # pragma: no cover - compiled
    forecast: F64,
    median: int,
    demand: F64,
    abs_err: F64,
    mean_demand: F64,
    floor: F64,
    error: F64,
    decay: float,
    weight: float,
    window: F64,
    pos: int,
    length: int,
    allocation: F64,
    pending: F64,
    per_app: int,
    sums: F64,
    inv: F64,
    clip: np.float32,
    scaled: NDArray[np.float32],
) -> None:
    """Tracker update, window push (and its scaled rows) and per-application sums (see the
    module docstring)."""
    _update_from(forecast, median, demand, abs_err, mean_demand, floor, error, decay, weight)
    push_scaled(window, demand, pos, length, inv, clip, scaled)
    _pair_sums(allocation, pending, per_app, sums)


class FusedTickUpdate:
    """Updates a tracker, a demand window and a component map's cache in one call.

    Args:
        tracker: The engine's forecast error tracker.
        window: The engine's demand window.
        components: The engine's component map (one or two components per application).
    """

    def __init__(
        self,
        tracker: FusedForecastErrorTracker,
        window: FusedDemandWindow,
        components: FusedComponentMap,
    ) -> None:
        self.tracker = tracker
        self.window = window
        self.components = components
        self.n_apps = components.n_apps
        # the parts' arrays are updated in place for their lifetime: looked up once
        self._abs_err, self._mean_demand, self._floor, self._error = tracker.kernel_arrays()
        self._buffer = window.buffer
        self._shape = (self.n_apps, N_RESOURCES)
        self._sums_shape = (2, self.n_apps, N_RESOURCES)

    @staticmethod
    def applies(tracker: object, window: object, components: object) -> bool:
        """Whether the three parts are compiled ones this update can stand in for."""
        return (
            isinstance(tracker, FusedForecastErrorTracker)
            and isinstance(window, FusedDemandWindow)
            and isinstance(components, FusedComponentMap)
            and components.per_app in (1, 2)
        )

    def update(self, forecast: F64, median: int, state: ClusterState) -> None:
        """One tick: as ``tracker.update(forecast[:, 0, :, median], demand)``,
        ``window.push(demand)`` and ``components.app_allocation(state)``, ``demand`` being
        ``state.kpis.demand``.

        Args:
            forecast: ``(A, K, 4, Q)`` the forecast made before the tick.
            median: Index of the P50 quantile.
            state: The snapshot of the tick.
        """
        tracker, window = self.tracker, self.window
        demand = state.kpis.demand
        if demand.shape != self._shape:
            tracker.update(forecast[:, 0, :, median], demand)  # the parts' own errors
            window.push(demand)
            return
        weight = tracker.next_weight()
        sums = np.empty(self._sums_shape)
        _tick(
            forecast,
            median,
            demand,
            self._abs_err,
            self._mean_demand,
            self._floor,
            self._error,
            tracker.decay,
            weight,
            self._buffer,
            window.position,
            window.length,
            state.allocation,
            state.pending_allocation,
            self.components.per_app,
            sums,
            *window.scaled_parts(),
        )
        window.advance()
        self.components.cache(state, sums)
