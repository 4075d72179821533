"""Hand-built observations and policy contexts for the policy tests (real engine classes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from shadowsim.cluster_state import ClusterSpec
from shadowsim.engine.action_codec import ActionCodec, ActionConfig, ActionMode
from shadowsim.engine.observation import ObservationBuilder, ObservationConfig
from shadowsim_policies.base import PolicyContext

LEADS = (1, 2, 3, 6, 12)
QUANTILES = (0.5, 0.9)


def make_spec(n_apps: int, priority: tuple[int, ...] | None = None) -> ClusterSpec:
    """A spec with one component per app on one big host, 300 s ticks."""
    prio = np.asarray(priority if priority is not None else [2] * n_apps, dtype=np.int8)
    return ClusterSpec(
        app_ids=tuple(f"app{i}" for i in range(n_apps)),
        priority=prio,
        sla_response_s=np.full(n_apps, 0.5),
        sla_max_error_rate=np.full(n_apps, 0.01),
        component_app=np.arange(n_apps, dtype=np.intp),
        component_share=np.ones(n_apps),
        component_critical=np.zeros(n_apps, dtype=bool),
        host_capacity=np.full((1, 4), 1e6),
        interval_s=300.0,
    )


def make_context(
    n_apps: int,
    mode: ActionMode = ActionMode.CONTINUOUS,
    *,
    latency_s: float = 60.0,
    leads: tuple[int, ...] = LEADS,
    max_change_factor: float = 2.0,
    priority: tuple[int, ...] | None = None,
    action: ActionConfig | None = None,
) -> PolicyContext:
    """A context with a real ActionCodec and the real observation space."""
    spec = make_spec(n_apps, priority)
    codec = ActionCodec(spec, action or ActionConfig(mode=mode, max_target=8.0))
    builder = ObservationBuilder(spec, ObservationConfig(forecast_leads=leads, quantiles=QUANTILES))
    return PolicyContext(
        observation_space=builder.space,
        action_space=codec.space,
        action_mode=codec.config.mode,
        codec=codec,
        interval_s=300.0,
        forecast_leads=leads,
        quantiles=QUANTILES,
        scale_latency_s=latency_s,
        max_change_factor=max_change_factor,
    )


def make_obs(
    usage: np.ndarray,
    *,
    forecast: np.ndarray | None = None,
    pending: np.ndarray | None = None,
    priority: tuple[int, ...] | None = None,
    forecast_error: np.ndarray | None = None,
    n_leads: int = len(LEADS),
) -> dict[str, np.ndarray]:
    """An observation dict (float32, spec shapes) from the parts a test cares about.

    ``usage`` is ``(A, W, 4)``; ``forecast`` defaults to the last usage at every lead and
    quantile; ``pending`` (also used as ``allocation``) defaults to 1.0.
    """
    usage = np.asarray(usage, dtype=np.float64)
    a = usage.shape[0]
    if forecast is None:
        forecast = np.repeat(usage[:, -1][:, None, :, None], n_leads, axis=1)
        forecast = np.repeat(forecast, len(QUANTILES), axis=3)
    pend = np.ones((a, 4)) if pending is None else np.asarray(pending, dtype=np.float64)
    prio = np.zeros((a, 3))
    prio[np.arange(a), priority if priority is not None else [2] * a] = 1.0
    err = np.zeros((a, 4)) if forecast_error is None else forecast_error
    obs: dict[str, Any] = {
        "usage": usage,
        "forecast": forecast,
        "allocation": pend,
        "pending": pend,
        "kpi": np.zeros((a, 4)),
        "forecast_error": err,
        "priority": prio,
        "ref_log": np.ones((a, 4)),
        "pool": np.zeros(8),
        "hosts": np.ones((3, 4)),
        "time": np.zeros(4),
    }
    return {k: np.asarray(v, dtype=np.float32) for k, v in obs.items()}


@pytest.fixture
def context() -> Callable[..., PolicyContext]:
    """Factory of :class:`PolicyContext` (see :func:`make_context`)."""
    return make_context


@pytest.fixture
def obs() -> Callable[..., dict[str, np.ndarray]]:
    """Factory of observation dicts (see :func:`make_obs`)."""
    return make_obs
