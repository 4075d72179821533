"""Static peak provisioning: size each application once, for its warm-up peak, and hold.

The classic over-provisioning baseline. At the first step of an episode the target of app
``i`` and resource ``r`` is ``(1 + margin) * max(ref, max of the observed usage window)``:
``ref`` is the env's reference size, fixed at reset from the warm-up window before the
episode (its P99 demand, see :mod:`shadowsim.engine.observation`), so in ref units the
warm-up peak estimate is ``max(1, usage window peak)``. The target never changes afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shadowsim_policies.base import POLICIES
from shadowsim_policies.observation_view import ObservationView
from shadowsim_policies.policy_config import config_from, freeze, number
from shadowsim_policies.target_policy import TargetPolicy


@dataclass(frozen=True)
class StaticPeakConfig:
    """Parameters of :class:`StaticPeakPolicy`.

    Attributes:
        margin: Relative headroom over the warm-up peak (0.1 = 10% more), >= 0.
    """

    margin: float = 0.1

    def __post_init__(self) -> None:
        freeze(self, margin=number("margin", self.margin, low=0.0))


@POLICIES.register("static_peak")
class StaticPeakPolicy(TargetPolicy[NDArray[np.float64]]):
    """Static peak provisioning from the warm-up window; state: the fixed ``(A, 4)`` targets.

    Args:
        config: Parameters, or None to build them from ``params``.
        **params: Fields of :class:`StaticPeakConfig`.
    """

    name = "static_peak"

    def __init__(self, config: StaticPeakConfig | None = None, **params: Any) -> None:
        super().__init__()
        self.config = config_from(StaticPeakConfig, config, params)

    def initial_state(self, view: ObservationView) -> NDArray[np.float64]:
        peak = np.maximum(1.0, view.usage.max(axis=1))
        return np.asarray((1.0 + self.config.margin) * peak)

    def decide(self, view: ObservationView, state: NDArray[np.float64]) -> NDArray[np.float64]:
        return state
