"""A vectorised reactive threshold rule (HPA-like) driving the simulator through the bulk action.

It is the load that the benchmark replays under, and the rule the naive reference
(:mod:`shadowsim.sim.naive`) re-implements scalar by scalar; the full baseline policy class
lives in ``shadowsim_policies``. Per application and resource, with ``current`` the
allocation once in-flight scaling lands and ``usage`` the served usage of the last
interval:

* ``ratio = usage / (current * target_utilisation)``; when ``|ratio - 1| > tolerance`` the
  recommendation is ``usage / target_utilisation``, else ``current`` (Kubernetes HPA's
  tolerance, default 0.1);
* as in Kubernetes' HPA behaviour with a zero scale-up window, the target is
  ``min(max(current, recommendation), highest recommendation of the last
  stabilisation_ticks control ticks)``: a scale-up is applied at once, a scale-down goes
  no lower than the window's highest recommendation (scale-down stabilisation);
* every entry gets a target (an unchanged one simply re-sets the allocation in force).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shadowsim.actions import ScaleAllAction
from shadowsim.cluster_state import ClusterState
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.checks import check_fraction, check_int, check_non_negative, check_vector
from shadowsim.sim.jit import Kernel, use_jit

_KEY = "reactive."


@dataclass(frozen=True)
class ReactiveConfig:
    """Parameters of the reactive threshold rule.

    Attributes:
        target_utilisation: Wanted usage / allocation per resource, in (0, 1].
        tolerance: Relative deviation from the target tolerated without action (>= 0).
        stabilisation_ticks: Control ticks in the scale-down stabilisation window (>= 1).
        kernel: The compiled rule (JIT), the numpy reference (NUMPY), or JIT when numba is
            installed (AUTO); identical targets.
    """

    target_utilisation: tuple[float, ...] = (0.7, 0.8, 0.7, 0.7)
    tolerance: float = 0.1
    stabilisation_ticks: int = 3
    kernel: Kernel = Kernel.AUTO

    def __post_init__(self) -> None:
        util = check_vector(_KEY + "target_utilisation", self.target_utilisation, N_RESOURCES)
        for i, value in enumerate(util):
            check_fraction(f"{_KEY}target_utilisation[{i}]", value, open_low=True)
        object.__setattr__(self, "target_utilisation", util)
        check_non_negative(_KEY + "tolerance", self.tolerance)
        check_int(_KEY + "stabilisation_ticks", self.stabilisation_ticks, minimum=1)
        use_jit(self.kernel, _KEY + "kernel")


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
        self._jit = use_jit(config.kernel, _KEY + "kernel")
        if self._jit:
            from shadowsim.sim.fused.reactive import decide

            self._fused = decide
            self._util4 = np.ascontiguousarray(config.target_utilisation, dtype=np.float64)

    def decide(self, state: ClusterState) -> ScaleAllAction:
        """The bulk scale action for the snapshot ``state`` (a target for every entry)."""
        if self._jit:
            targets = np.empty(self._util.shape)
            self._fused(
                state.kpis.served,
                state.pending_allocation,
                self._util4,
                self._window,
                self._slot,
                self.config.tolerance,
                targets,
            )
            self._slot = (self._slot + 1) % self._window.shape[0]
            return ScaleAllAction(targets)
        usage = state.kpis.served
        current = state.pending_allocation
        ratio = np.multiply(current, self._util, out=self._ratio)
        np.divide(usage, ratio, out=ratio)
        ratio -= 1.0
        np.abs(ratio, out=ratio)
        hold = np.less_equal(ratio, self.config.tolerance, out=self._mask)
        rec = np.divide(usage, self._util, out=self._rec)
        window = self._window
        window[self._slot] = np.where(hold, current, rec)
        rec = window[self._slot]
        self._slot = (self._slot + 1) % window.shape[0]
        stable = np.maximum.reduce(window, axis=0) if window.shape[0] > 1 else window[0].copy()
        desired = np.maximum(current, rec, out=self._ratio)
        np.minimum(desired, stable, out=stable)
        return ScaleAllAction(stable)

    @staticmethod
    def recommend(usage: float, current: float, util: float, tolerance: float) -> float:
        """The scalar recommendation for one entry (the naive reference uses it)."""
        ratio = abs(usage / (current * util) - 1.0)
        return usage / util if ratio > tolerance else current

    @staticmethod
    def target(current: float, rec: float, window: list[float]) -> float:
        """The scalar target: up at once, down no lower than the window's highest."""
        return min(max(current, rec), max(window))
