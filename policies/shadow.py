"""``shadow``: shadowsim's proactive, priority-aware policy driven by the shadow forecasts.

Per application ``i`` and resource ``r`` (ref units), with ``c = priority class of i``:

1. **Proactive need**: the forecast at quantile ``quantile[c]`` over the leads the decision
   covers, i.e. from when scaling lands (after the actuation latency) until the next
   decision lands (:func:`~shadowsim_policies.forecast_reading.leads_covering`).
2. **Headroom**: times ``1 + headroom[c] + error_gain[c] * forecast_error[i, r]``: a fixed
   margin per class plus one that grows with the shadow model's recent relative error (a
   shadow that has been wrong lately gets more room).
3. **Reactive floor**: at least ``(1 + reactive_margin[c]) * usage of the last tick``, so a
   burst the forecast missed is covered from the next landing on.
4. **Ramp**: later forecast peaks the guardrails' maximum change per tick would reach too late
   raise the target early (``peak / f**(lead - last)``, as the oracle does).
5. **Gentle scale-down**: a decrease is limited to ``down_step`` (relative) per tick.
   Increases are immediate.

HIGH-priority applications get a higher quantile and more headroom; LOW ones run lean. The
values in ``conf/policy/shadow.yaml`` were tuned on the weeks before the test window (see
``experiments.tune_shadow``). Stateless apart from what the observation carries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shadowsim_policies.base import POLICIES
from shadowsim_policies.forecast_reading import lead_span_max, quantile_level
from shadowsim_policies.observation_view import ObservationView
from shadowsim_policies.policy_config import config_from, freeze, number, per_priority
from shadowsim_policies.target_policy import TargetPolicy


@dataclass(frozen=True)
class ShadowConfig:
    """Parameters of :class:`ShadowPolicy`; per-class values are (LOW, MEDIUM, HIGH).

    Attributes:
        quantile: Forecast level provisioned per priority class, in (0, 1).
        headroom: Relative headroom per class, >= 0.
        error_gain: Extra headroom per unit of the forecast's recent relative MAE, >= 0.
        reactive_margin: Floor at ``(1 + margin) *`` last usage per class (negative = no
            floor), relative.
        down_step: Largest relative decrease per tick, in (0, 1] (1 = jump down at once).
        max_error: Cap of the relative MAE used for headroom (guards against a near-zero
            mean demand blowing it up), >= 0.
    """

    quantile: tuple[float, ...] = (0.5, 0.9, 0.9)
    headroom: tuple[float, ...] = (0.0, 0.05, 0.15)
    error_gain: tuple[float, ...] = (0.0, 0.5, 1.0)
    reactive_margin: tuple[float, ...] = (-1.0, 0.0, 0.1)
    down_step: float = 0.2
    max_error: float = 1.0

    def __post_init__(self) -> None:
        freeze(
            self,
            quantile=per_priority("quantile", self.quantile, low=0.0, high=0.999, low_open=True),
            headroom=per_priority("headroom", self.headroom, low=0.0),
            error_gain=per_priority("error_gain", self.error_gain, low=0.0),
            reactive_margin=per_priority("reactive_margin", self.reactive_margin, low=-1.0),
            down_step=number("down_step", self.down_step, low=0.0, high=1.0, low_open=True),
            max_error=number("max_error", self.max_error, low=0.0),
        )


@POLICIES.register("shadow")
class ShadowPolicy(TargetPolicy[None]):
    """Proactive quantile-plus-headroom provisioning ahead of the actuation latency.

    Args:
        config: Parameters, or None to build them from ``params``.
        **params: Fields of :class:`ShadowConfig`.
    """

    name = "shadow"

    def __init__(self, config: ShadowConfig | None = None, **params: Any) -> None:
        super().__init__()
        self.config = config_from(ShadowConfig, config, params)

    def initial_state(self, view: ObservationView) -> None:
        return None

    def decide(self, view: ObservationView, state: None) -> NDArray[np.float64]:
        ctx, cfg = self.context, self.config
        cls = view.priority
        first, last = ctx.covered_leads()
        quantiles = np.asarray(cfg.quantile)
        need = np.empty_like(view.pending)
        ramp = np.zeros_like(view.pending)
        factor = ctx.max_change_factor
        for level in np.unique(quantiles[cls]):
            rows = quantiles[cls] == level
            values = quantile_level(view.forecast[rows], ctx.quantiles, float(level))
            need[rows] = lead_span_max(values, ctx.forecast_leads, first, last)
            if math.isfinite(factor):
                for j, lead in enumerate(ctx.forecast_leads):
                    if lead > last:
                        ramp[rows] = np.maximum(ramp[rows], values[:, j] / factor ** (lead - last))
        error = np.minimum(view.forecast_error, cfg.max_error)
        margin = np.asarray(cfg.headroom)[cls, None] + np.asarray(cfg.error_gain)[cls, None] * error
        target = np.maximum(need * (1.0 + margin), ramp)
        floor_margin = np.asarray(cfg.reactive_margin)[cls, None]
        floor = np.where(floor_margin > -1.0, view.last_usage * (1.0 + floor_margin), 0.0)
        target = np.maximum(target, floor)
        lowest = view.pending * (1.0 - cfg.down_step)
        return np.asarray(np.maximum(target, np.minimum(lowest, view.pending)))
