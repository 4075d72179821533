"""The observation builder as one compiled pass: :class:`FusedObservationBuilder`.

:class:`FusedObservationBuilder` has the interface of
:class:`~shadowsim.engine.observation.ObservationBuilder` and builds the same observation
(same keys, shapes, float32 values, bit for bit: the same float64 products rounded once to
float32, the same clipping and NaN handling) in one numba call that fills a fresh float32
array per key.

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import ClusterSpec, ClusterState
from shadowsim.engine.component_map import ComponentMap
from shadowsim.engine.observation import (
    _BUSY_SHARE,
    _DAY_S,
    _WEEK_S,
    OBSERVATION_KEYS,
    ObservationBuilder,
)
from shadowsim.engine.observation_config import ObservationConfig
from shadowsim.errors import ShadowSimError
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.jit import njit

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]

# params (float64): kpi_clip, inv_components, inv_hosts, busy share
_KPI_CLIP, _INV_COMP, _INV_HOSTS, _BUSY = 0, 1, 2, 3
# offsets: start of each key in the buffer, in OBSERVATION_KEYS order
(_USAGE, _FORECAST, _ALLOC, _PENDING, _KPI, _ERROR, _PRIORITY, _REF_LOG, _POOL, _HOSTS) = range(10)
_TIME_KEY = 10


@njit
def _clip(x: float, high: np.float32) -> np.float32:  # pragma: no cover - compiled
    """``float32(x)`` clipped above at ``high`` (as ``np.minimum``: NaN stays NaN)."""
    v = np.float32(x)
    return high if v > high else v


@njit
def _scaled_leads(  # pragma: no cover - compiled
    forecast: F64, lead_index: NDArray[np.intp], inv_forecast: F64, ahead: F32, high: np.float32
) -> None:
    """``ahead[a, k] = min(float32(forecast[a, lead_index[k]] * 1 / ref[a]), high)``.

    ``forecast`` (C order) and ``ahead`` are read as ``(A, leads, 4 Q)`` rows and
    ``inv_forecast`` holds ``1 / ref[a, r]`` repeated Q times per row, so the inner loop runs
    over contiguous memory (vectorised; the products are the reference's).
    """
    n_apps, n_k, n_leads = forecast.shape[0], forecast.shape[1], lead_index.shape[0]
    m = forecast.shape[2] * forecast.shape[3]
    source = forecast.reshape(n_apps, n_k, m)
    shown = ahead.reshape(n_apps, n_leads, m)
    for a in range(n_apps):
        scale = inv_forecast[a]
        for k in range(n_leads):
            at, row = source[a, lead_index[k]], shown[a, k]
            for i in range(m):
                v = np.float32(at[i] * scale[i])
                row[i] = high if v > high else v


@njit
def _build(  # pragma: no cover - compiled
    history: F64,
    scaled: F32,
    forecast: F64,
    lead_index: NDArray[np.intp],
    error: F64,
    inv: F64,
    inv_forecast: F64,
    alloc: F64,
    pending: F64,
    kpis: tuple[F64, F64, NDArray[np.bool_], F64, F64, F64],
    inv_sla: F64,
    priority: F32,
    ref_log: F32,
    pool_count: NDArray[np.int64],
    pool_target: NDArray[np.int64],
    host_allocated: F64,
    inv_capacity: F64,
    params: F64,
    value_clip: np.float32,
    time_features: tuple[float, float, float, float],
    out: tuple[F32, ...],
) -> None:
    """Fill the observation arrays ``out`` (in :data:`OBSERVATION_KEYS` order).

    The usage window is ``history`` scaled, or, when ``scaled`` is not empty, ``scaled``
    copied (the window already scaled with the same arithmetic, see
    :meth:`~shadowsim.engine.fused.demand_window.FusedDemandWindow.attach_scaled`).
    """
    usage, ahead, out_alloc, out_pend, out_kpi, out_err = out[:6]
    out_priority, out_ref_log, out_pool, out_hosts, out_time = out[6:]
    n_apps = usage.shape[0]
    prescaled = scaled.shape[0] > 0
    n_window = scaled.shape[1] if prescaled else history.shape[1]
    _scaled_leads(forecast, lead_index, inv_forecast, ahead, value_clip)
    for a in range(n_apps):  # row views and the 4 scales in registers: ~25% faster
        shown = usage[a]
        if prescaled:
            ready = scaled[a]
            for w in range(n_window):
                for r in range(N_RESOURCES):
                    shown[w, r] = ready[w, r]
        else:
            i0, i1, i2, i3 = inv[a, 0], inv[a, 1], inv[a, 2], inv[a, 3]
            past = history[a]
            for w in range(n_window):
                shown[w, 0] = _clip(past[w, 0] * i0, value_clip)
                shown[w, 1] = _clip(past[w, 1] * i1, value_clip)
                shown[w, 2] = _clip(past[w, 2] * i2, value_clip)
                shown[w, 3] = _clip(past[w, 3] * i3, value_clip)
        for r in range(N_RESOURCES):
            out_alloc[a, r] = _clip(alloc[a, r] * inv[a, r], value_clip)
            out_pend[a, r] = _clip(pending[a, r] * inv[a, r], value_clip)
            out_err[a, r] = _clip(error[a, r], value_clip)
            out_ref_log[a, r] = ref_log[a, r]
        for c in range(priority.shape[1]):
            out_priority[a, c] = priority[a, c]
    # KPIs: ratios clipped to [0, kpi_clip], violated flag, largest unserved share in [0, 1]
    response, error_rate, violated, throttled, dropped, demand = kpis
    kpi_clip = params[_KPI_CLIP]
    row = np.empty(4)
    for a in range(n_apps):
        row[0] = response[a] * inv_sla[0, a]
        row[1] = error_rate[a] * inv_sla[1, a]
        row[2] = 1.0 if violated[a] else 0.0
        worst = 0.0
        has_nan = False
        for r in range(N_RESOURCES):
            d = demand[a, r]
            if d < 1e-12:
                d = 1e-12
            u = (throttled[a, r] + dropped[a, r]) / d
            if np.isnan(u):
                has_nan = True
            elif r == 0 or u > worst:
                worst = u
        row[3] = np.nan if has_nan else worst
        for c in range(4):
            v = row[c]
            if np.isnan(v):
                v = 0.0
            high = kpi_clip if c < 2 else 1.0
            if v > high:
                v = high
            if v < 0.0:
                v = 0.0
            out_kpi[a, c] = np.float32(v)
    n_states = pool_count.shape[0]
    inv_components = np.float32(params[_INV_COMP])
    for s in range(n_states):
        out_pool[s] = np.float32(pool_count[s]) * inv_components
        out_pool[n_states + s] = np.float32(pool_target[s]) * inv_components
    # hosts: mean and min headroom share, share of busy hosts, per resource
    n_hosts = host_allocated.shape[0]
    inv_hosts = params[_INV_HOSTS]
    busy = params[_BUSY]
    low = -value_clip
    for r in range(N_RESOURCES):
        total = 0.0
        top = 0.0
        n_busy = 0
        for h in range(n_hosts):
            used = host_allocated[h, r] * inv_capacity[h, r]
            total = used if h == 0 else total + used
            if h == 0 or (not np.isnan(top) and (used > top or np.isnan(used))):
                top = used
            if used > busy:
                n_busy += 1
        for c, value in enumerate((1.0 - total * inv_hosts, 1.0 - top, n_busy * inv_hosts)):
            v = np.float32(value)
            out_hosts[c, r] = low if v < low else v
    for c in range(4):
        out_time[c] = np.float32(time_features[c])


class FusedObservationBuilder(ObservationBuilder):
    """:class:`ObservationBuilder` computed by one compiled kernel (same observation).

    Args:
        spec: The cluster's static description.
        config: What to show.
        component_map: Shared component/application conversions (one is made if None).
        time_origin_s: Unix time of backend time 0, s (for the calendar features).
    """

    def __init__(
        self,
        spec: ClusterSpec,
        config: ObservationConfig | None = None,
        *,
        component_map: ComponentMap | None = None,
        time_origin_s: float = 0.0,
    ) -> None:
        super().__init__(spec, config, component_map=component_map, time_origin_s=time_origin_s)
        self._shapes = [tuple(self.space[key].shape or ()) for key in OBSERVATION_KEYS]
        if len(self._shapes) != 11:
            raise ShadowSimError(
                f"the compiled observation builder writes 11 keys, OBSERVATION_KEYS has "
                f"{len(self._shapes)}; update shadowsim.engine.fused.observation with the layout"
            )
        self._inv_sla = np.stack([self._inv_sla_response, self._inv_sla_error]).astype(np.float64)
        self._params = np.zeros(4)
        self._params[_KPI_CLIP] = self.config.kpi_clip
        self._params[_INV_COMP] = self._inv_components
        self._params[_BUSY] = _BUSY_SHARE
        self._value_clip = np.float32(self.config.value_clip)
        self._horizon = self.config.horizon
        self._inv_of: F64 | None = None
        self._inv_forecast = np.zeros((0, N_RESOURCES))
        self._keys = OBSERVATION_KEYS
        window = self.config.window
        self._no_scaled = np.zeros((0, window, N_RESOURCES), dtype=np.float32)
        self._no_history = np.zeros((0, window, N_RESOURCES))

    def build(
        self,
        state: ClusterState,
        history: F64,
        forecast: F64,
        forecast_error: F64,
        ref: F64,
    ) -> dict[str, F32]:
        """The observation of ``state`` (as :meth:`ObservationBuilder.build`)."""
        return self._build(state, history, self._no_scaled, forecast, forecast_error, ref)

    def build_scaled(
        self,
        state: ClusterState,
        usage: F32,
        forecast: F64,
        forecast_error: F64,
        ref: F64,
    ) -> dict[str, F32]:
        """As :meth:`build` with the usage window already scaled: ``usage`` is the
        :meth:`~shadowsim.engine.fused.demand_window.FusedDemandWindow.scaled_view` of a
        window scaled by ``1 / ref`` and ``value_clip``
        (:meth:`~shadowsim.engine.fused.demand_window.FusedDemandWindow.attach_scaled`)."""
        return self._build(state, self._no_history, usage, forecast, forecast_error, ref)

    def usage_scales(self, ref: F64) -> tuple[F64, float]:
        """The ``(A, 4)`` factors and the clip the usage window is scaled with."""
        return self._scales(ref)[0], float(self.config.value_clip)

    def _build(
        self,
        state: ClusterState,
        history: F64,
        scaled: F32,
        forecast: F64,
        forecast_error: F64,
        ref: F64,
    ) -> dict[str, F32]:
        """Run the kernel (``scaled`` empty: scale ``history``)."""
        if forecast.shape[1] < self._horizon:
            raise ShadowSimError(
                f"forecast covers {forecast.shape[1]} ticks, the observation needs leads up to "
                f"{self.config.horizon}; raise the forecast provider's horizon"
            )
        allocation, pending = self.components.app_allocation(state)
        inv, _, _, ref_log = self._scales(ref)
        if inv is not self._inv_of:
            n_q = len(self.config.quantiles)
            self._inv_forecast = np.ascontiguousarray(np.repeat(inv, n_q, axis=1))
            self._inv_of = inv
        if forecast.shape[3] * N_RESOURCES != self._inv_forecast.shape[1]:
            raise ShadowSimError(
                f"forecast has {forecast.shape[3]} quantiles, the observation shows "
                f"{len(self.config.quantiles)}; use a forecaster with "
                f"engine.observation.quantiles = {self.config.quantiles}"
            )
        if not forecast.flags.c_contiguous:  # the kernel reads it row by row
            forecast = np.ascontiguousarray(forecast)
        capacity = state.host_capacity
        if capacity is not self._capacity_of:
            self._inv_capacity = 1.0 / np.maximum(capacity, 1e-12)
            self._capacity_of = capacity
            self._params[_INV_HOSTS] = 1.0 / capacity.shape[0]
        t = self.time_origin_s + state.time_s
        day = 2.0 * math.pi * (t % _DAY_S) / _DAY_S
        week = 2.0 * math.pi * (t % _WEEK_S) / _WEEK_S
        kpis = state.kpis
        empty, f32, shapes = np.empty, np.float32, self._shapes
        arrays = (  # written out: several times cheaper than a generator
            empty(shapes[0], f32),
            empty(shapes[1], f32),
            empty(shapes[2], f32),
            empty(shapes[3], f32),
            empty(shapes[4], f32),
            empty(shapes[5], f32),
            empty(shapes[6], f32),
            empty(shapes[7], f32),
            empty(shapes[8], f32),
            empty(shapes[9], f32),
            empty(shapes[10], f32),
        )
        _build(
            history,
            scaled,
            forecast,
            self._lead_index,
            forecast_error,
            inv,
            self._inv_forecast,
            allocation,
            pending,
            (
                kpis.response_time_s,
                kpis.error_rate,
                kpis.sla_violated,
                kpis.throttled,
                kpis.dropped,
                kpis.demand,
            ),
            self._inv_sla,
            self._priority,
            ref_log,
            state.pool_count,
            state.pool_target,
            state.host_allocated,
            self._inv_capacity,
            self._params,
            self._value_clip,
            (math.sin(day), math.cos(day), math.sin(week), math.cos(week)),
            arrays,
        )
        k = self._keys  # a dict display: cheaper than dict(zip(...))
        return {
            k[0]: arrays[0],
            k[1]: arrays[1],
            k[2]: arrays[2],
            k[3]: arrays[3],
            k[4]: arrays[4],
            k[5]: arrays[5],
            k[6]: arrays[6],
            k[7]: arrays[7],
            k[8]: arrays[8],
            k[9]: arrays[9],
            k[10]: arrays[10],
        }
