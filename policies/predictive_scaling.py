"""AWS-style predictive scaling: capacity from the load forecast, scheduled a buffer time early.

EC2 Auto Scaling predictive scaling (docs.aws.amazon.com, "Predictive scaling for Amazon EC2
Auto Scaling") forecasts the load metric, turns it into capacity with the target
utilisation, and schedules each capacity change ``SchedulingBufferTime`` seconds before the
forecast time, so instances are ready when the load arrives. Vertically, per application and
resource:

    target = max over the leads the decision covers, shifted by the buffer, of
             forecast(quantile) / target_utilization

The decision covers the leads from the scaling actuation latency to the next decision's
landing (see :func:`~shadowsim_policies.forecast_reading.leads_covering`); the buffer shifts
that span ``ceil(scheduling_buffer_s / interval_s)`` ticks later (AWS schedules both scale-up
and scale-down early). AWS's forecast is a point forecast: ``quantile`` 0.5 by default.
It is purely predictive (no reactive floor), as in AWS's "forecast and scale" mode used alone.
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
from shadowsim_policies.policy_config import config_from, freeze, number, per_resource
from shadowsim_policies.target_policy import TargetPolicy


@dataclass(frozen=True)
class PredictiveScalingConfig:
    """Parameters of :class:`PredictiveScalingPolicy`.

    Attributes:
        target_utilization: Wanted forecast / allocation per resource or one for all, (0, 1].
        scheduling_buffer_s: How much earlier than the forecast time capacity is set, s
            (AWS: 0 to 3600 s; 300 s here).
        quantile: Forecast level used (AWS uses a point forecast: 0.5).
    """

    target_utilization: tuple[float, ...] = (0.7, 0.7, 0.7, 0.7)
    scheduling_buffer_s: float = 300.0
    quantile: float = 0.5

    def __post_init__(self) -> None:
        freeze(
            self,
            target_utilization=per_resource(
                "target_utilization", self.target_utilization, low=0.0, high=1.0, low_open=True
            ),
            scheduling_buffer_s=number("scheduling_buffer_s", self.scheduling_buffer_s, low=0.0),
            quantile=number("quantile", self.quantile, low=0.0, high=1.0, low_open=True),
        )


@POLICIES.register("predictive_scaling")
class PredictiveScalingPolicy(TargetPolicy[None]):
    """AWS-style predictive scaling with a scheduling buffer time (stateless).

    Args:
        config: Parameters, or None to build them from ``params``.
        **params: Fields of :class:`PredictiveScalingConfig`.
    """

    name = "predictive_scaling"

    def __init__(self, config: PredictiveScalingConfig | None = None, **params: Any) -> None:
        super().__init__()
        self.config = config_from(PredictiveScalingConfig, config, params)

    def initial_state(self, view: ObservationView) -> None:
        return None

    def decide(self, view: ObservationView, state: None) -> NDArray[np.float64]:
        ctx = self.context
        first, last = ctx.covered_leads()
        shift = math.ceil(self.config.scheduling_buffer_s / ctx.interval_s - 1e-9)
        level = quantile_level(view.forecast, ctx.quantiles, self.config.quantile)
        need = lead_span_max(level, ctx.forecast_leads, first + shift, last + shift)
        return np.asarray(need / np.asarray(self.config.target_utilization))
