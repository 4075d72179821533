"""A Kubernetes VPA-like recommender: decaying histograms, target P90 plus a 15% margin.

The Vertical Pod Autoscaler's recommender (kubernetes/autoscaler,
``vertical-pod-autoscaler/pkg/recommender``), per application and resource:

* every tick the last tick's usage is added to a :class:`DecayingHistogram` whose sample
  weights halve every ``half_life_s`` (VPA: 24 h); buckets grow by 5% from 0.001 ref units;
* target = P90 x (1 + safety_margin) (VPA: 0.15); lower bound = P50 x (1 + margin) and upper
  bound = P95 x (1 + margin), widened while the history is short exactly as the VPA's
  confidence multipliers do: upper x (1 + 1/c), lower x (1 + 0.001/c)^-2, with ``c`` the
  history length in days;
* the updater (``update_mode`` OUT_OF_BOUNDS, the VPA's behaviour) changes an allocation to
  the target only when the current allocation leaves [lower, upper]; ALWAYS applies the
  target every tick.

Simplifications, stated: memory samples are per-tick demand (the VPA uses per-day peaks of
memory), samples are not weighted by the request, and there is no minimum allocation (the
engine's guardrails enforce bounds). At an episode's start the histogram is seeded with the
observed usage window (oldest first, decayed as if one sample per tick).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ConfigError, UnknownNameError
from shadowsim_policies.base import POLICIES
from shadowsim_policies.decaying_histogram import BucketScheme, DecayingHistogram
from shadowsim_policies.observation_view import ObservationView
from shadowsim_policies.policy_config import config_from, freeze, number, per_resource
from shadowsim_policies.target_policy import TargetPolicy


class UpdateMode(Enum):
    """When the VPA-like policy applies its recommendation."""

    OUT_OF_BOUNDS = "out_of_bounds"
    """Only when the allocation is outside [lower bound, upper bound] (the VPA updater)."""
    ALWAYS = "always"
    """Every tick."""

    @classmethod
    def parse(cls, value: object) -> UpdateMode:
        """An UpdateMode from itself or its name/value (any case)."""
        if isinstance(value, cls):
            return value
        for mode in cls:
            if str(value).lower() in (mode.value, mode.name.lower()):
                return mode
        unknown = UnknownNameError("VPA update mode", str(value), [m.value for m in cls])
        raise ConfigError("policy.update_mode", str(unknown))


@dataclass(frozen=True)
class VpaConfig:
    """Parameters of :class:`VpaPolicy`.

    Attributes:
        target_percentile: Percentile of the target (VPA: 0.9).
        lower_percentile: Percentile of the lower bound (VPA: 0.5).
        upper_percentile: Percentile of the upper bound (VPA: 0.95).
        safety_margin: Relative margin added to every estimate (VPA: 0.15).
        half_life_s: Half-life of sample weights, s, per resource or one for all (VPA: 24 h).
        bucket_first: Width of the first histogram bucket, ref units.
        bucket_ratio: Growth of bucket widths (VPA: 1.05).
        update_mode: OUT_OF_BOUNDS (VPA updater) or ALWAYS.
    """

    target_percentile: float = 0.9
    lower_percentile: float = 0.5
    upper_percentile: float = 0.95
    safety_margin: float = 0.15
    half_life_s: tuple[float, ...] = (86400.0, 86400.0, 86400.0, 86400.0)
    bucket_first: float = 0.001
    bucket_ratio: float = 1.05
    update_mode: UpdateMode = UpdateMode.OUT_OF_BOUNDS

    def __post_init__(self) -> None:
        lower = number("lower_percentile", self.lower_percentile, low=0.0, high=1.0, low_open=True)
        target = number("target_percentile", self.target_percentile, low=lower, high=1.0)
        upper = number("upper_percentile", self.upper_percentile, low=target, high=1.0)
        freeze(
            self,
            lower_percentile=lower,
            target_percentile=target,
            upper_percentile=upper,
            safety_margin=number("safety_margin", self.safety_margin, low=0.0),
            half_life_s=per_resource("half_life_s", self.half_life_s, low=0.0, low_open=True),
            bucket_first=number("bucket_first", self.bucket_first, low=0.0, low_open=True),
            bucket_ratio=number("bucket_ratio", self.bucket_ratio, low=1.0, low_open=True),
            update_mode=UpdateMode.parse(self.update_mode),
        )


@dataclass
class VpaState:
    """Per-env state: the histograms and the number of samples they hold."""

    histogram: DecayingHistogram
    samples: int = 0


@POLICIES.register("vpa")
class VpaPolicy(TargetPolicy[VpaState]):
    """VPA-like recommender and updater.

    Args:
        config: Parameters, or None to build them from ``params``.
        **params: Fields of :class:`VpaConfig`.
    """

    name = "vpa"

    def __init__(self, config: VpaConfig | None = None, **params: Any) -> None:
        super().__init__()
        self.config = config_from(VpaConfig, config, params)

    def initial_state(self, view: ObservationView) -> VpaState:
        cfg = self.config
        scheme = BucketScheme(first=cfg.bucket_first, ratio=cfg.bucket_ratio)
        histogram = DecayingHistogram(
            view.n_apps, cfg.half_life_s, self.context.interval_s, scheme
        )
        state = VpaState(histogram)
        for t in range(view.usage.shape[1] - 1):  # the last row is added by decide()
            histogram.add(view.usage[:, t])
            state.samples += 1
        return state

    def bounds(self, state: VpaState) -> tuple[NDArray[np.float64], ...]:
        """``(lower, target, upper)`` recommendations, each ``(A, 4)`` ref units."""
        cfg = self.config
        margin = 1.0 + cfg.safety_margin
        days = max(state.samples * self.context.interval_s / 86400.0, 1e-9)
        lower = state.histogram.percentile(cfg.lower_percentile) * margin
        target = state.histogram.percentile(cfg.target_percentile) * margin
        upper = state.histogram.percentile(cfg.upper_percentile) * margin
        lower = lower * (1.0 + 0.001 / days) ** -2
        upper = upper * (1.0 + 1.0 / days)
        return lower, target, upper

    def decide(self, view: ObservationView, state: VpaState) -> NDArray[np.float64]:
        state.histogram.add(view.last_usage)
        state.samples += 1
        lower, target, upper = self.bounds(state)
        if self.config.update_mode is UpdateMode.ALWAYS:
            return target
        current = view.pending
        outside = (current < lower) | (current > upper)
        return np.where(outside, target, current)
