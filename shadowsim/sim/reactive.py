"""A vectorised reactive threshold rule (HPA-like) driving the simulator through the bulk action.

It is the load that the benchmark replays under, and the rule the naive reference
(:mod:`shadowsim.sim.naive`) re-implements scalar by scalar; the full baseline policy class
lives in ``shadowsim_policies``. Per application and resource, with ``current`` the
allocation once in-flight scaling lands and ``usage`` the served usage of the last
interval:

* ``ratio = usage / (current * target_utilisation)``; when ``|ratio - 1| > tolerance`` the
  recommendation is ``usage / target_utilisation``, else ``current`` (Kubernetes HPA's
  tolerance, default 0.1);
* scale-up is immediate: a recommendation above ``current`` is applied at once;
* scale-down is stabilised: the target is the highest recommendation of the last
  ``stabilisation_ticks`` control ticks (Kubernetes' scale-down stabilisation window);
* a target equal to ``current`` is sent as NaN (hold).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shadowsim.actions import ScaleAllAction
from shadowsim.cluster_state import ClusterState
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.checks import check_fraction, check_int, check_non_negative, check_vector

_KEY = "reactive."


@dataclass(frozen=True)
class ReactiveConfig:
    """Parameters of the reactive threshold rule.

    Attributes:
        target_utilisation: Wanted usage / allocation per resource, in (0, 1].
        tolerance: Relative deviation from the target tolerated without action (>= 0).
        stabilisation_ticks: Control ticks in the scale-down stabilisation window (>= 1).
    """

    target_utilisation: tuple[float, ...] = (0.7, 0.8, 0.7, 0.7)
    tolerance: float = 0.1
    stabilisation_ticks: int = 3

    def __post_init__(self) -> None:
        util = check_vector(_KEY + "target_utilisation", self.target_utilisation, N_RESOURCES)
        for i, value in enumerate(util):
            check_fraction(f"{_KEY}target_utilisation[{i}]", value, open_low=True)
        object.__setattr__(self, "target_utilisation", util)
        check_non_negative(_KEY + "tolerance", self.tolerance)
        check_int(_KEY + "stabilisation_ticks", self.stabilisation_ticks, minimum=1)


class ReactiveRule:
    """The rule, over all applications and resources at once.

    Works on one component per application (``components_per_app=1``): then application
    and component arrays coincide and no per-tick regrouping is needed.

    Args:
        config: The rule's parameters.
        n_apps: Number of applications.
    """

    def __init__(self, config: ReactiveConfig, n_apps: int) -> None:
        self.config = config
        self._util = np.tile(np.asarray(config.target_utilisation), (n_apps, 1))
        self._window = np.full((config.stabilisation_ticks, n_apps, N_RESOURCES), -np.inf)
        self._slot = 0
        self._ratio = np.empty((n_apps, N_RESOURCES))
        self._rec = np.empty((n_apps, N_RESOURCES))
        self._mask = np.empty((n_apps, N_RESOURCES), dtype=np.bool_)

    def decide(self, state: ClusterState) -> ScaleAllAction:
        """The bulk scale action for the snapshot ``state``."""
        usage = state.kpis.served
        current = state.pending_allocation
        ratio = np.multiply(current, self._util, out=self._ratio)
        np.divide(usage, ratio, out=ratio)
        ratio -= 1.0
        np.abs(ratio, out=ratio)
        hold = np.less_equal(ratio, self.config.tolerance, out=self._mask)
        window = self._window
        rec = window[self._slot]
        np.divide(usage, self._util, out=rec)
        np.copyto(rec, current, where=hold)
        self._slot = (self._slot + 1) % window.shape[0]
        stable = window[0].copy()
        for other in window[1:]:
            np.maximum(stable, other, out=stable)
        up = np.greater(rec, current, out=self._mask)
        np.copyto(stable, rec, where=up)
        same = np.equal(stable, current, out=self._mask)
        np.copyto(stable, np.nan, where=same)
        return ScaleAllAction(stable)

    @staticmethod
    def recommend(usage: float, current: float, util: float, tolerance: float) -> float:
        """The scalar recommendation for one entry (the naive reference uses it)."""
        ratio = abs(usage / (current * util) - 1.0)
        return usage / util if ratio > tolerance else current
