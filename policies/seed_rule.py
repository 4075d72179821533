"""The seed proposal's predictive threshold rule, shared by ``seed_threshold`` and ``seed_literal``.

The seed's pseudocode, per application (here per resource too)::

    difference = predicted - actual_usage
    if difference > threshold:      scale_down(app, difference)   # literal
    elif difference < -threshold:   scale_up(app, difference)     # literal

The literal rule *reduces* the allocation when the shadow predicts more than is used now:
its sign is inverted. The intended rule scales up ahead of predicted demand:
``allocation += difference`` when the difference is past a threshold, in either direction.

Both use the shadow forecast at ``quantile`` (default P50) for the leads the decision covers
(scaling lands after the actuation latency; see
:func:`~shadowsim_policies.forecast_reading.leads_covering`), in ref units, against the last
tick's usage. :class:`SeedRulePolicy` implements both; :class:`Sign` picks the direction.

Note: with a persistence forecaster (``last_value``) the P50 forecast *is* the last usage, so
the difference is zero and neither rule ever acts (the allocation stays where it started);
the rule only means something with a forecaster that predicts change (seasonal, LSTM).
"""

from __future__ import annotations

from abc import abstractmethod
from enum import Enum

import numpy as np
from numpy.typing import NDArray

from shadowsim_policies.forecast_reading import lead_span_max, quantile_level
from shadowsim_policies.observation_view import ObservationView
from shadowsim_policies.target_policy import TargetPolicy


class Sign(Enum):
    """Which way the allocation moves when the prediction exceeds the usage."""

    INTENDED = 1.0
    """Scale up by the difference (the proposal's intent)."""
    LITERAL = -1.0
    """Scale down by the difference (the pseudocode as written)."""


class SeedRulePolicy(TargetPolicy[NDArray[np.int64]]):
    """The seed's rule with thresholds and hysteresis; state: ``(A, 4)`` scale-down streaks.

    Subclasses set ``sign`` and provide ``quantile``, ``up_threshold``, ``down_threshold``
    (ref units) and ``down_ticks`` (consecutive ticks a scale-down must be called for).
    """

    sign: Sign = Sign.INTENDED

    @abstractmethod
    def rule(self) -> tuple[float, float, float, int]:
        """``(quantile, up_threshold, down_threshold, down_ticks)`` of the subclass's config."""

    def difference(self, view: ObservationView) -> NDArray[np.float64]:
        """``(A, 4)`` predicted need minus the last tick's usage, ref units."""
        ctx = self.context
        quantile = self.rule()[0]
        first, last = ctx.covered_leads()
        predicted = lead_span_max(
            quantile_level(view.forecast, ctx.quantiles, quantile), ctx.forecast_leads, first, last
        )
        return predicted - view.last_usage

    def initial_state(self, view: ObservationView) -> NDArray[np.int64]:
        return np.zeros(view.pending.shape, dtype=np.int64)

    def decide(self, view: ObservationView, state: NDArray[np.int64]) -> NDArray[np.float64]:
        _, up_threshold, down_threshold, down_ticks = self.rule()
        step = self.sign.value * self.difference(view)  # the change the rule asks for
        up = step > up_threshold
        down_called = step < -down_threshold
        state[:] = np.where(down_called, state + 1, 0)
        down = down_called & (state >= down_ticks)
        state[down] = 0
        move = up | down
        return np.where(move, np.maximum(view.pending + step, 0.0), view.pending)
