"""``shadow``: shadowsim's proactive, priority-aware policy driven by the shadow forecasts.

Per application ``i`` of priority class ``c`` and resource ``r`` (ref units):

1. **Proactive need**: the forecast at quantile ``quantile[c]`` over the leads the decision
   covers, i.e. from when scaling lands (after the actuation latency) until the next
   decision lands (:meth:`~shadowsim_policies.base.PolicyContext.covered_leads`).
2. **Headroom**: times ``1 + headroom[c][r] + error_gain[c] * forecast_error[i, r]``: a margin
   per class and resource (resources differ in price and burstiness: memory beyond the
   allocation fails, disk and network are cheap) plus one that grows with the shadow model's
   recent relative error (a shadow that has been wrong lately gets more room).
3. **Reactive floor**: at least ``(1 + reactive_margin[c]) *`` the last tick's usage, so a
   burst the forecast missed is covered from the next landing on (``-1`` = no floor).
4. **Peak floor**: at least ``peak_share[c][r] *`` the highest usage of the last
   ``peak_window_s`` (Autopilot's moving-window peak, per class and resource; 0 = off):
   recurring spikes of cheap resources and of high-priority applications stay covered.
5. **Ramp**: a later forecast peak that the guardrails' maximum change per tick would reach
   too late raises the target early (``peak / f**(lead - last)``, as the oracle does).
6. **Gentle scale-down**: a decrease is limited to ``down_step`` (relative) per tick.
   Increases are immediate.

Per-class values are given LOW, MEDIUM, HIGH; per-resource ones CPU, MEMORY, DISK, NETWORK.
The defaults (also in ``conf/policy/shadow.yaml``) were tuned by hand on the validation week
(the week before the test window) of Bitbrains 2013-8 with the last-value forecaster over three
priority seeds, never on the test week. State per env: the usage of the last ``peak_window_s``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shadowsim_policies.autopilot_peak import PeakWindow
from shadowsim_policies.base import POLICIES
from shadowsim_policies.forecast_reading import lead_span_max, quantile_level
from shadowsim_policies.observation_view import ObservationView
from shadowsim_policies.policy_config import (
    config_from,
    freeze,
    number,
    per_priority,
    per_priority_resource,
)
from shadowsim_policies.target_policy import TargetPolicy

Matrix = tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class ShadowConfig:
    """Parameters of :class:`ShadowPolicy` (see the module docstring for the rule).

    Attributes:
        quantile: Forecast level provisioned per class (LOW, MEDIUM, HIGH), in (0, 1).
        headroom: Relative headroom per class and resource (3 x 4, or per class, or one).
        error_gain: Extra headroom per unit of the forecast's recent relative MAE, per class.
        reactive_margin: Floor at ``(1 + margin) *`` last usage, per class (-1 = no floor).
        peak_share: Floor at this share of the window peak, per class and resource (0 = off).
        peak_window_s: Length of the peak window, s.
        down_step: Largest relative decrease per tick, in (0, 1] (1 = at once).
        max_error: Cap of the relative MAE used for headroom (a near-zero mean demand would
            blow it up), >= 0.
    """

    quantile: tuple[float, ...] = (0.8, 0.9, 0.9)
    headroom: Matrix = ((0.0, 0.05, 2.0, 2.0), (0.05, 0.1, 2.0, 2.0), (0.1, 0.2, 2.0, 2.0))
    error_gain: tuple[float, ...] = (0.0, 0.0, 0.3)
    reactive_margin: tuple[float, ...] = (-1.0, -1.0, 0.2)
    peak_share: Matrix = ((0.0, 0.0, 2.0, 2.0), (0.0, 0.0, 2.0, 2.0), (1.2, 1.5, 2.0, 2.0))
    peak_window_s: float = 86400.0
    down_step: float = 0.5
    max_error: float = 1.0

    def __post_init__(self) -> None:
        freeze(
            self,
            quantile=per_priority("quantile", self.quantile, low=0.0, high=0.999, low_open=True),
            headroom=per_priority_resource("headroom", self.headroom, low=0.0),
            error_gain=per_priority("error_gain", self.error_gain, low=0.0),
            reactive_margin=per_priority("reactive_margin", self.reactive_margin, low=-1.0),
            peak_share=per_priority_resource("peak_share", self.peak_share, low=0.0),
            peak_window_s=number("peak_window_s", self.peak_window_s, low=0.0, low_open=True),
            down_step=number("down_step", self.down_step, low=0.0, high=1.0, low_open=True),
            max_error=number("max_error", self.max_error, low=0.0),
        )


@POLICIES.register("shadow")
class ShadowPolicy(TargetPolicy[PeakWindow]):
    """Proactive quantile-plus-headroom provisioning ahead of the actuation latency.

    Args:
        config: Parameters, or None to build them from ``params``.
        **params: Fields of :class:`ShadowConfig`.
    """

    name = "shadow"

    def __init__(self, config: ShadowConfig | None = None, **params: Any) -> None:
        super().__init__()
        self.config = config_from(ShadowConfig, config, params)
        cfg = self.config
        self._quantile = np.asarray(cfg.quantile)
        self._headroom = np.asarray(cfg.headroom)
        self._gain = np.asarray(cfg.error_gain)
        self._reactive = np.asarray(cfg.reactive_margin)
        self._peak_share = np.asarray(cfg.peak_share)
        self._uses_peak = bool(self._peak_share.any())

    def initial_state(self, view: ObservationView) -> PeakWindow:
        n = self.context.ticks(self.config.peak_window_s) if self._uses_peak else 1
        window = PeakWindow(np.zeros((view.n_apps, n, view.usage.shape[2])))
        for t in range(view.usage.shape[1] - 1):  # the last row is added by decide()
            window.add(view.usage[:, t])
        return window

    def proactive_need(self, view: ObservationView) -> tuple[NDArray[np.float64], ...]:
        """``(need, ramp)``: forecast need over the covered leads, and the ramp-up floor."""
        ctx = self.context
        cls = view.priority
        first, last = ctx.covered_leads()
        need = np.empty_like(view.pending)
        ramp = np.zeros_like(view.pending)
        factor = ctx.max_change_factor
        levels = self._quantile[cls]
        for level in np.unique(levels):
            rows = levels == level
            values = quantile_level(view.forecast[rows], ctx.quantiles, float(level))
            need[rows] = lead_span_max(values, ctx.forecast_leads, first, last)
            if math.isfinite(factor):
                for j, lead in enumerate(ctx.forecast_leads):
                    if lead > last:
                        ramp[rows] = np.maximum(ramp[rows], values[:, j] / factor ** (lead - last))
        return need, ramp

    def decide(self, view: ObservationView, state: PeakWindow) -> NDArray[np.float64]:
        cfg = self.config
        cls = view.priority
        state.add(view.last_usage)
        need, ramp = self.proactive_need(view)
        error = np.minimum(view.forecast_error, cfg.max_error)
        margin = self._headroom[cls] + self._gain[cls, None] * error
        target = np.maximum(need * (1.0 + margin), ramp)
        reactive = self._reactive[cls, None]
        floor = np.where(reactive > -1.0, view.last_usage * (1.0 + reactive), 0.0)
        target = np.maximum(target, floor)
        if self._uses_peak:
            target = np.maximum(target, self._peak_share[cls] * state.peak())
        lowest = view.pending * (1.0 - cfg.down_step)
        return np.asarray(np.maximum(target, np.minimum(lowest, view.pending)))
