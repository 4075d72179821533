"""Google Autopilot's moving-window peak recommender (Rzadca et al., EuroSys 2020, section 4.1).

Per application and resource the recommendation is the highest usage seen over a moving
window of ``window_s`` (default 24 h), times ``1 + safety_margin``: Autopilot's ``S_max``
recommender, used there for memory limits and for conservative CPU limits.

State per env: a ring buffer of the last ``window_s / interval_s`` ticks of usage, seeded at
an episode's start with the observed usage window.
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
class AutopilotPeakConfig:
    """Parameters of :class:`AutopilotPeakPolicy`.

    Attributes:
        window_s: Length of the moving window, s.
        safety_margin: Relative margin over the window's peak.
    """

    window_s: float = 86400.0
    safety_margin: float = 0.1

    def __post_init__(self) -> None:
        freeze(
            self,
            window_s=number("window_s", self.window_s, low=0.0, low_open=True),
            safety_margin=number("safety_margin", self.safety_margin, low=0.0),
        )


@dataclass
class PeakWindow:
    """A ring buffer of the last ``N`` ticks of usage, ``(A, N, 4)`` ref units."""

    buffer: NDArray[np.float64]
    count: int = 0

    def add(self, usage: NDArray[np.float64]) -> None:
        """Store one tick of ``(A, 4)`` usage, evicting the oldest when full."""
        self.buffer[:, self.count % self.buffer.shape[1]] = usage
        self.count += 1

    def peak(self) -> NDArray[np.float64]:
        """``(A, 4)`` maximum over the stored ticks."""
        filled = min(self.count, self.buffer.shape[1])
        return np.asarray(self.buffer[:, :filled].max(axis=1))

    def peak_last(self, n: int) -> NDArray[np.float64]:
        """``(A, 4)`` maximum over the last ``n`` stored ticks (all stored ones if fewer)."""
        size = self.buffer.shape[1]
        filled = min(self.count, size)
        if n >= filled:
            return self.peak()
        end = self.count % size or size  # one past the newest entry
        start = end - max(1, n)
        if start >= 0:
            return np.asarray(self.buffer[:, start:end].max(axis=1))
        wrapped = self.buffer[:, start % size :].max(axis=1)
        return np.asarray(np.maximum(wrapped, self.buffer[:, :end].max(axis=1)))


@POLICIES.register("autopilot_peak")
class AutopilotPeakPolicy(TargetPolicy[PeakWindow]):
    """Autopilot's moving-window peak recommender.

    Args:
        config: Parameters, or None to build them from ``params``.
        **params: Fields of :class:`AutopilotPeakConfig`.
    """

    name = "autopilot_peak"

    def __init__(self, config: AutopilotPeakConfig | None = None, **params: Any) -> None:
        super().__init__()
        self.config = config_from(AutopilotPeakConfig, config, params)

    def initial_state(self, view: ObservationView) -> PeakWindow:
        n = self.context.ticks(self.config.window_s)
        window = PeakWindow(np.zeros((view.n_apps, n, view.usage.shape[2])))
        for t in range(view.usage.shape[1] - 1):  # the last row is added by decide()
            window.add(view.usage[:, t])
        return window

    def decide(self, view: ObservationView, state: PeakWindow) -> NDArray[np.float64]:
        state.add(view.last_usage)
        return state.peak() * (1.0 + self.config.safety_margin)
