"""Google Autopilot's moving-window percentile recommender with exponential decay.

Rzadca et al., "Autopilot: workload autoscaling at Google", EuroSys 2020, section 4.1: the
usage samples of each application and resource go to a histogram whose weights decay
exponentially with a half-life (there: 12 h for CPU, 48 h for memory); the recommendation
is a high percentile of it (there: P95 for CPU of serving jobs, P98 for memory) plus a
safety margin. Autopilot keeps the histogram over its moving window; with exponential decay
old samples fade anyway, so this keeps every sample and lets the decay do the windowing.

State per env: a :class:`DecayingHistogram` seeded at an episode's start with the observed
usage window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shadowsim_policies.base import POLICIES
from shadowsim_policies.decaying_histogram import BucketScheme, DecayingHistogram
from shadowsim_policies.observation_view import ObservationView
from shadowsim_policies.policy_config import config_from, freeze, number, per_resource
from shadowsim_policies.target_policy import TargetPolicy


@dataclass(frozen=True)
class AutopilotPercentileConfig:
    """Parameters of :class:`AutopilotPercentilePolicy`.

    Attributes:
        percentile: Level per resource (CPU, MEMORY, DISK, NETWORK) or one for all, in (0, 1].
        half_life_s: Half-life of sample weights per resource or one for all, s.
        safety_margin: Relative margin over the percentile.
        bucket_first: Width of the first histogram bucket, ref units.
        bucket_ratio: Growth of bucket widths.
    """

    percentile: tuple[float, ...] = (0.95, 0.98, 0.95, 0.95)
    half_life_s: tuple[float, ...] = (43200.0, 172800.0, 43200.0, 43200.0)
    safety_margin: float = 0.1
    bucket_first: float = 0.001
    bucket_ratio: float = 1.05

    def __post_init__(self) -> None:
        freeze(
            self,
            percentile=per_resource("percentile", self.percentile, low=0.0, high=1.0,
                                    low_open=True),
            half_life_s=per_resource("half_life_s", self.half_life_s, low=0.0, low_open=True),
            safety_margin=number("safety_margin", self.safety_margin, low=0.0),
            bucket_first=number("bucket_first", self.bucket_first, low=0.0, low_open=True),
            bucket_ratio=number("bucket_ratio", self.bucket_ratio, low=1.0, low_open=True),
        )


@POLICIES.register("autopilot_percentile")
class AutopilotPercentilePolicy(TargetPolicy[DecayingHistogram]):
    """Autopilot's percentile recommender over exponentially decaying histograms.

    Args:
        config: Parameters, or None to build them from ``params``.
        **params: Fields of :class:`AutopilotPercentileConfig`.
    """

    name = "autopilot_percentile"

    def __init__(self, config: AutopilotPercentileConfig | None = None, **params: Any) -> None:
        super().__init__()
        self.config = config_from(AutopilotPercentileConfig, config, params)

    def initial_state(self, view: ObservationView) -> DecayingHistogram:
        cfg = self.config
        scheme = BucketScheme(first=cfg.bucket_first, ratio=cfg.bucket_ratio)
        histogram = DecayingHistogram(view.n_apps, cfg.half_life_s, self.context.interval_s, scheme)
        for t in range(view.usage.shape[1] - 1):  # the last row is added by decide()
            histogram.add(view.usage[:, t])
        return histogram

    def decide(self, view: ObservationView, state: DecayingHistogram) -> NDArray[np.float64]:
        state.add(view.last_usage)
        levels = self.config.percentile
        out = np.empty((view.n_apps, len(levels)))
        for level in sorted(set(levels)):
            cols = [r for r, p in enumerate(levels) if p == level]
            out[:, cols] = state.percentile(level)[:, cols]
        return out * (1.0 + self.config.safety_margin)
