"""The one observation builder shared by the simulated environment and the live adapter.

Version ``OBSERVATION_VERSION = "1"``. A trained policy records the version it was trained
on and refuses a mismatch (:func:`check_observation_version`).

Normalisation: every quantity about application ``i`` and resource ``r`` is divided by
``ref[i, r]``, a per-application reference size fixed at reset from the demand observed
BEFORE the episode starts (:func:`reference_sizes`: the ``ref_quantile`` quantile of the
warm-up demand, floored at ``ref_floor``), so policies are scale-free. All arrays are float32.
Shapes use A applications, W = ``window``, L = ``len(forecast_leads)``, Q quantiles,
S = 4 readiness states and 4 resources in :class:`~shadowsim.resources.Resource` order.

Keys:

=================  ============  =================================================================
key                shape         meaning
=================  ============  =================================================================
usage              (A, W, 4)     recent demand / ref, oldest first; the last row is the tick just
                                 accounted (this and the next three: clipped to ``value_clip``)
forecast           (A, L, 4, Q)  forecast demand / ref at each lead; lead ``l`` is the tick ``l``
                                 ticks after now (lead 1 = the next interval)
allocation         (A, 4)        allocation in force / ref
pending            (A, 4)        allocation once in-flight scaling has landed / ref
kpi                (A, 4)        response time / SLA target, error rate / SLA max error rate,
                                 SLA violated (0/1), unserved share (the largest share, over the
                                 resources, of demand throttled or dropped in the last interval);
                                 the two ratios are clipped to ``[0, kpi_clip]``
forecast_error     (A, 4)        recent relative MAE of the P50 lead-1 forecast (MAE / mean demand)
priority           (A, 3)        one-hot LOW, MEDIUM, HIGH
ref_log            (A, 4)        log1p(ref), ref in vCPU, MiB, KB/s, KB/s (absolute size)
pool               (2 S,)        spare VMs per readiness state, then pool targets, each / C
hosts              (3, 4)        per resource: mean headroom share, min headroom share (1 -
                                 allocated / capacity), share of hosts more than 90% allocated
time               (4,)          sin, cos of the time of day; sin, cos of the day of the week
=================  ============  =================================================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from shadowsim.cluster_state import ClusterSpec, ClusterState
from shadowsim.engine.component_map import ComponentMap
from shadowsim.engine.observation_config import (
    ObservationConfig,
    check_quantiles_match,
    reference_sizes,
)
from shadowsim.errors import ShadowSimError
from shadowsim.readiness import N_READINESS
from shadowsim.resources import N_RESOURCES
from shadowsim.workloads.workload import Priority

OBSERVATION_VERSION = "1"
"""Version of the observation layout; bumped whenever a key, shape or meaning changes."""

OBSERVATION_KEYS: tuple[str, ...] = (
    "usage",
    "forecast",
    "allocation",
    "pending",
    "kpi",
    "forecast_error",
    "priority",
    "ref_log",
    "pool",
    "hosts",
    "time",
)
"""The observation's keys, in documentation order."""

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
_DAY_S = 86_400.0
_WEEK_S = 7 * _DAY_S
_BUSY_SHARE = 0.9
_REF_LOG_HIGH = 50.0  # log1p of 5e21: above any reference size in vCPU, MiB or KB/s
_POOL_HIGH = 1e4  # spares per component: a bound no pool reaches


class ObservationVersionError(ShadowSimError, ValueError):
    """A policy was trained on another observation layout than the one offered."""


def check_observation_version(recorded: str, *, what: str = "policy") -> None:
    """Refuse a policy trained on another observation layout.

    Args:
        recorded: The ``OBSERVATION_VERSION`` stored with the policy.
        what: Name of the thing checked, for the message.

    Raises:
        ObservationVersionError: ``recorded`` differs from :data:`OBSERVATION_VERSION`.
    """
    if str(recorded) != OBSERVATION_VERSION:
        raise ObservationVersionError(
            f"{what} was trained on observation version {recorded!r}, but this shadowsim "
            f"builds version {OBSERVATION_VERSION!r}; retrain it, or use the shadowsim release "
            "it was trained with"
        )


class ObservationBuilder:
    """Builds the observation dict documented in this module.

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
        self.spec = spec
        self.config = config or ObservationConfig()
        self.components = component_map or ComponentMap(spec)
        self.time_origin_s = float(time_origin_s)
        self._lead_index = np.asarray(self.config.forecast_leads, dtype=np.intp) - 1
        n_apps = spec.n_apps
        priority = np.asarray(spec.priority, dtype=np.intp)
        self._priority = np.zeros((n_apps, len(Priority)), dtype=np.float32)
        self._priority[np.arange(n_apps), priority] = 1.0
        self._inv_sla_response = 1.0 / np.maximum(np.asarray(spec.sla_response_s), 1e-9)
        self._inv_sla_error = 1.0 / np.maximum(np.asarray(spec.sla_max_error_rate), 1e-6)
        self._inv_components = 1.0 / max(1, spec.n_components)
        self.space = self._make_space()
        self._scale_ref: F64 | None = None
        self._kpi_rows = np.zeros((4, n_apps))
        self._capacity_of: F64 | None = None
        self._inv_capacity = np.ones((0, N_RESOURCES))
        cfg = self.config
        shapes = [
            (n_apps, cfg.window, N_RESOURCES),
            (n_apps, len(cfg.forecast_leads), N_RESOURCES, len(cfg.quantiles)),
            (n_apps, N_RESOURCES),
            (n_apps, N_RESOURCES),
            (n_apps, N_RESOURCES),
        ]
        ends = np.cumsum([math.prod(shape) for shape in shapes])
        starts = ends - [math.prod(shape) for shape in shapes]
        self._layout = [
            ((int(lo), int(hi)), shape) for lo, hi, shape in zip(starts, ends, shapes, strict=True)
        ]
        self._buffer_size = int(ends[-1])
        self._kpi_high = np.repeat(
            np.array([self.config.kpi_clip, self.config.kpi_clip, 1.0, 1.0])[:, None],
            n_apps,
            axis=1,
        )
        self._scale_cache: tuple[F64, F64, F64, F32] = (
            np.ones((0, 4)),
            np.ones((0, 1, 4)),
            np.ones((0, 1, 4, 1)),
            np.zeros((0, 4), np.float32),
        )

    def _make_space(self) -> spaces.Dict:
        """The gymnasium space of the observations."""
        a, w = self.spec.n_apps, self.config.window
        n_leads, n_q = len(self.config.forecast_leads), len(self.config.quantiles)
        clip = self.config.kpi_clip
        value = self.config.value_clip

        def box(shape: tuple[int, ...], low: float = 0.0, high: float = value) -> spaces.Box:
            return spaces.Box(low=low, high=high, shape=shape, dtype=np.float32)

        kpi_high = np.broadcast_to(np.array([clip, clip, 1.0, 1.0], np.float32), (a, 4)).copy()
        return spaces.Dict(
            {
                "usage": box((a, w, N_RESOURCES)),
                "forecast": box((a, n_leads, N_RESOURCES, n_q)),
                "allocation": box((a, N_RESOURCES)),
                "pending": box((a, N_RESOURCES)),
                "kpi": spaces.Box(low=0.0, high=kpi_high, dtype=np.float32),
                "forecast_error": box((a, N_RESOURCES)),
                "priority": box((a, len(Priority)), high=1.0),
                "ref_log": box((a, N_RESOURCES), high=_REF_LOG_HIGH),
                "pool": box((2 * N_READINESS,), high=_POOL_HIGH),
                "hosts": box((3, N_RESOURCES), low=-value, high=1.0),
                "time": box((4,), low=-1.0, high=1.0),
            }
        )

    def build(
        self,
        state: ClusterState,
        history: F64,
        forecast: F64,
        forecast_error: F64,
        ref: F64,
    ) -> dict[str, F32]:
        """The observation of ``state``.

        Args:
            state: The latest snapshot.
            history: ``(A, W, 4)`` recent application demand, oldest first.
            forecast: ``(A, K, 4, Q)`` forecast from now, K >= the longest lead.
            forecast_error: ``(A, 4)`` relative MAE of the P50 forecast.
            ref: ``(A, 4)`` reference sizes (:func:`reference_sizes`).

        Returns:
            A dict of float32 arrays, keys and shapes as in the module docstring.

        Raises:
            ShadowSimError: ``forecast`` covers fewer ticks than the longest lead.
        """
        if forecast.shape[1] < self.config.horizon:
            raise ShadowSimError(
                f"forecast covers {forecast.shape[1]} ticks, the observation needs leads up to "
                f"{self.config.horizon}; raise the forecast provider's horizon"
            )
        allocation, pending = self.components.app_allocation(state)
        inv, inv3, inv4, ref_log = self._scales(ref)
        # usage, forecast, allocation, pending and forecast_error are disjoint views of one
        # float32 buffer, so that a single call clips them all
        buffer = np.empty(self._buffer_size, np.float32)
        usage, ahead, alloc, pend, error = (
            buffer[lo:hi].reshape(shape) for (lo, hi), shape in self._layout
        )
        np.multiply(history, inv3, out=usage, casting="unsafe")
        np.multiply(forecast[:, self._lead_index], inv4, out=ahead, casting="unsafe")
        np.multiply(allocation, inv, out=alloc, casting="unsafe")
        np.multiply(pending, inv, out=pend, casting="unsafe")
        np.copyto(error, forecast_error, casting="unsafe")
        np.minimum(buffer, self.config.value_clip, out=buffer)
        return {
            "usage": usage,
            "forecast": ahead,
            "allocation": alloc,
            "pending": pend,
            "kpi": self._kpi(state),
            "forecast_error": error,
            "priority": self._priority.copy(),
            "ref_log": ref_log.copy(),
            "pool": self._pool(state),
            "hosts": self._hosts(state),
            "time": self._time(state.time_s),
        }

    def _kpi(self, state: ClusterState) -> F32:
        """The ``(A, 4)`` KPI block (computed row-wise in a ``(4, A)`` scratch, then copied)."""
        kpis = state.kpis
        rows = self._kpi_rows
        np.multiply(kpis.response_time_s, self._inv_sla_response, out=rows[0])
        np.multiply(kpis.error_rate, self._inv_sla_error, out=rows[1])
        rows[2] = kpis.sla_violated
        unserved = kpis.throttled + kpis.dropped
        unserved /= np.maximum(kpis.demand, 1e-12)
        unserved.max(axis=1, out=rows[3])
        if np.isnan(rows).any():
            np.nan_to_num(rows, copy=False, nan=0.0)
        np.minimum(rows, self._kpi_high, out=rows)
        np.maximum(rows, 0.0, out=rows)
        return rows.T.astype(np.float32)

    def _scales(self, ref: F64) -> tuple[F64, F64, F64, F32]:
        """``1 / ref`` tiled to ``(A, 4)``, ``(A, W, 4)``, ``(A, L, 4, Q)``, and ``log1p(ref)``.

        The tiles are contiguous so that the per-tick products run as one flat loop (a
        broadcast over a length-4 inner axis is many times slower). Cached for the last
        ``ref`` array seen (the engine fixes it for an episode).
        """
        if self._scale_ref is not ref:
            cfg = self.config
            n_apps = ref.shape[0]
            inv = 1.0 / ref
            usage = np.ascontiguousarray(
                np.broadcast_to(inv[:, None, :], (n_apps, cfg.window, N_RESOURCES))
            )
            shape = (n_apps, len(cfg.forecast_leads), N_RESOURCES, len(cfg.quantiles))
            forecast = np.ascontiguousarray(np.broadcast_to(inv[:, None, :, None], shape))
            self._scale_cache = (inv, usage, forecast, np.log1p(ref).astype(np.float32))
            self._scale_ref = ref
        return self._scale_cache

    def _pool(self, state: ClusterState) -> F32:
        """Pool counts then targets, each divided by the number of components."""
        pool = np.empty(2 * N_READINESS, dtype=np.float32)
        pool[:N_READINESS] = state.pool_count
        pool[N_READINESS:] = state.pool_target
        pool *= self._inv_components
        return pool

    def _hosts(self, state: ClusterState) -> F32:
        """Mean and min headroom share and share of busy hosts, per resource."""
        capacity = state.host_capacity
        if capacity is not self._capacity_of:
            self._inv_capacity = 1.0 / np.maximum(capacity, 1e-12)
            self._capacity_of = capacity
        used_share = state.host_allocated * self._inv_capacity
        inv_hosts = 1.0 / used_share.shape[0]
        hosts = np.empty((3, N_RESOURCES), dtype=np.float32)
        hosts[0] = 1.0 - np.add.reduce(used_share, axis=0) * inv_hosts
        hosts[1] = 1.0 - np.maximum.reduce(used_share, axis=0)
        hosts[2] = np.add.reduce(used_share > _BUSY_SHARE, axis=0) * inv_hosts
        np.maximum(hosts, -self.config.value_clip, out=hosts)
        return hosts

    def _time(self, time_s: float) -> F32:
        """Sin/cos of the time of day and of the day of the week."""
        t = self.time_origin_s + time_s
        day = 2.0 * math.pi * (t % _DAY_S) / _DAY_S
        week = 2.0 * math.pi * (t % _WEEK_S) / _WEEK_S
        return np.array(
            [math.sin(day), math.cos(day), math.sin(week), math.cos(week)], dtype=np.float32
        )


def observation_shapes(
    observation: Mapping[str, NDArray[np.float32]],
) -> dict[str, tuple[int, ...]]:
    """Key -> shape of an observation dict (for error messages and logs)."""
    return {key: tuple(np.shape(value)) for key, value in observation.items()}


__all__ = [
    "OBSERVATION_KEYS",
    "OBSERVATION_VERSION",
    "ObservationBuilder",
    "ObservationConfig",
    "ObservationVersionError",
    "check_observation_version",
    "check_quantiles_match",
    "observation_shapes",
    "reference_sizes",
]
