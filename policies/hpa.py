"""A Kubernetes HPA-like reactive autoscaler, applied vertically per application and resource.

The Horizontal Pod Autoscaler's algorithm (kubernetes.io, "Horizontal Pod Autoscaling"), with
the replica count replaced by the allocation:

* utilisation ``u = usage / allocation`` of the last tick; ratio ``u / target_utilization``;
* inside the tolerance (``|ratio - 1| <= tolerance``, default 0.1) nothing changes;
* otherwise the recommendation is ``usage / target_utilization`` (the HPA's
  ``ceil(current * ratio)`` without the rounding to whole replicas);
* scale-down stabilisation: the applied target is the *highest* recommendation of the last
  ``stabilization_window_s`` (default 300 s), so a drop is acted on only once it has lasted
  the whole window; scale-up is immediate (the HPA's default scale-up window of 0 s).

It is purely reactive: it sees the last tick's usage and never the forecast.
State per env: the recommendations within the window (a ring of ``(A, 4)`` arrays).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shadowsim_policies.base import POLICIES
from shadowsim_policies.observation_view import ObservationView
from shadowsim_policies.policy_config import config_from, freeze, number, per_resource
from shadowsim_policies.target_policy import TargetPolicy


@dataclass(frozen=True)
class HpaConfig:
    """Parameters of :class:`HpaPolicy`.

    Attributes:
        target_utilization: Wanted usage / allocation per resource (CPU, MEMORY, DISK,
            NETWORK), or one value for all, in (0, 1].
        tolerance: Relative deviation from the target that triggers no change (K8s: 0.1).
        stabilization_window_s: Scale-down stabilisation window, s (K8s default: 300 s).
    """

    target_utilization: tuple[float, ...] = (0.7, 0.7, 0.7, 0.7)
    tolerance: float = 0.1
    stabilization_window_s: float = 300.0

    def __post_init__(self) -> None:
        freeze(
            self,
            target_utilization=per_resource(
                "target_utilization", self.target_utilization, low=0.0, high=1.0, low_open=True
            ),
            tolerance=number("tolerance", self.tolerance, low=0.0, high=1.0),
            stabilization_window_s=number(
                "stabilization_window_s", self.stabilization_window_s, low=0.0
            ),
        )


@POLICIES.register("hpa")
class HpaPolicy(TargetPolicy["deque[NDArray[np.float64]]"]):
    """HPA-like reactive threshold autoscaler with scale-down stabilisation.

    Args:
        config: Parameters, or None to build them from ``params``.
        **params: Fields of :class:`HpaConfig`.
    """

    name = "hpa"

    def __init__(self, config: HpaConfig | None = None, **params: Any) -> None:
        super().__init__()
        self.config = config_from(HpaConfig, config, params)

    def window_ticks(self) -> int:
        """Recommendations kept: those made within the stabilisation window, now included."""
        return int(self.config.stabilization_window_s // self.context.interval_s) + 1

    def initial_state(self, view: ObservationView) -> deque[NDArray[np.float64]]:
        return deque(maxlen=self.window_ticks())

    def recommend(self, view: ObservationView) -> NDArray[np.float64]:
        """This tick's recommendation before stabilisation, ``(A, 4)`` ref units."""
        target = np.asarray(self.config.target_utilization)
        usage = view.last_usage
        current = view.pending
        utilisation = np.divide(usage, current, out=np.full_like(usage, np.inf), where=current > 0)
        ratio = utilisation / target
        inside = np.abs(ratio - 1.0) <= self.config.tolerance
        return np.where(inside, current, usage / target)

    def decide(
        self, view: ObservationView, state: deque[NDArray[np.float64]]
    ) -> NDArray[np.float64]:
        state.append(self.recommend(view))
        return np.asarray(np.max(np.stack(state), axis=0))
