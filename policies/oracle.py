"""The oracle: perfect foresight, exactly the future need, nothing more.

Run it in an env built with OracleForecasts (``needs_oracle``): every forecast quantile is
then the true future demand. Per application and resource the target is

* the true demand over the leads the decision covers (it lands after the scaling actuation
  latency and stays until the next decision lands; see
  :func:`~shadowsim_policies.forecast_reading.leads_covering`), times ``1 + margin``;
* raised early for later peaks the guardrails' maximum change per tick would otherwise
  reach too late: a need ``d`` at lead ``k`` after the span asks for ``d / f**(k - last)``
  now, ``f`` being ``max_change_factor``.

It gives the lower bound on cost at zero violations (the regret of every other policy is
measured against it). It needs every lead of the covered span in the observation's
``forecast_leads``; :meth:`OraclePolicy.bind` refuses an env that lacks one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shadowsim_policies.base import POLICIES, PolicyError
from shadowsim_policies.forecast_reading import lead_span_max, ramp_floor
from shadowsim_policies.observation_view import ObservationView
from shadowsim_policies.policy_config import config_from, freeze, number
from shadowsim_policies.target_policy import TargetPolicy


@dataclass(frozen=True)
class OracleConfig:
    """Parameters of :class:`OraclePolicy`.

    Attributes:
        margin: Relative margin over the true need (0 = exact; a tiny value absorbs float32
            rounding of the observation).
    """

    margin: float = 1e-4

    def __post_init__(self) -> None:
        freeze(self, margin=number("margin", self.margin, low=0.0))


@POLICIES.register("oracle")
class OraclePolicy(TargetPolicy[None]):
    """Perfect-foresight provisioning (stateless).

    Args:
        config: Parameters, or None to build them from ``params``.
        **params: Fields of :class:`OracleConfig`.
    """

    name = "oracle"
    needs_oracle = True

    def __init__(self, config: OracleConfig | None = None, **params: Any) -> None:
        super().__init__()
        self.config = config_from(OracleConfig, config, params)

    def bind(self, env_or_context: Any) -> OraclePolicy:
        super().bind(env_or_context)
        ctx = self.context
        first, last = ctx.covered_leads()
        missing = sorted(set(range(first, last + 1)) - set(ctx.forecast_leads))
        if missing:
            self._context = None
            raise PolicyError(
                f"the oracle must see every lead from {first} to {last} ticks (scaling latency "
                f"{ctx.scale_latency_s:g} s at {ctx.interval_s:g} s ticks), the env shows "
                f"{ctx.forecast_leads}; set engine.observation.forecast_leads to include "
                f"{missing}"
            )
        return self

    def initial_state(self, view: ObservationView) -> None:
        return None

    def decide(self, view: ObservationView, state: None) -> NDArray[np.float64]:
        ctx = self.context
        truth = view.forecast[..., -1]
        first, last = ctx.covered_leads()
        need = lead_span_max(truth, ctx.forecast_leads, first, last)
        need = np.maximum(need, ramp_floor(truth, ctx.forecast_leads, last, ctx.max_change_factor))
        return need * (1.0 + self.config.margin)
