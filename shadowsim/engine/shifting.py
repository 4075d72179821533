"""Shifting non-critical components to spare VMs before a predicted host bottleneck.

Automatic rule (``ControlSource.AUTO``): the predicted demand of each application over the
next ``lead_ticks`` ticks (the largest, over those leads, of the upper forecast quantile) is
spread over its components by their share and summed per host. A host whose predicted
demand of some resource exceeds ``threshold`` times its capacity is a predicted bottleneck:
its movable components (not critical, not of a HIGH-priority application, not migrating,
not already on a spare) are shifted to spares, largest predicted demand of the bottleneck
resource first, until the predicted excess is covered or ``max_shifts_per_tick`` is reached.
**HIGH-priority work is never the one moved out.**

Policy rule (``ControlSource.POLICY``): for each application the policy marks, its largest
movable component is shifted; a mark on a HIGH-priority application, or on one with no
movable component, is refused with a note.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shadowsim.actions import ShiftToSpareAction
from shadowsim.cluster_state import ClusterSpec, ClusterState
from shadowsim.engine.component_map import ComponentMap
from shadowsim.engine.config_checks import check_bool, check_int, check_number, set_value
from shadowsim.workloads.workload import Priority

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class ShiftConfig:
    """Parameters of the automatic shifting rule (see the module docstring).

    Attributes:
        enabled: Shift automatically (AUTO control only).
        threshold: Predicted demand share of host capacity that counts as a bottleneck, > 0.
        lead_ticks: Leads looked at, 1 .. lead_ticks, >= 1.
        max_shifts_per_tick: Most shifts started per tick, >= 0.
    """

    enabled: bool = True
    threshold: float = 0.9
    lead_ticks: int = 3
    max_shifts_per_tick: int = 2

    def __post_init__(self) -> None:
        set_value(self, "enabled", check_bool("enabled", self.enabled))
        set_value(
            self, "threshold", check_number("threshold", self.threshold, low=0.0, low_open=True)
        )
        set_value(self, "lead_ticks", check_int("lead_ticks", self.lead_ticks, low=1))
        set_value(
            self,
            "max_shifts_per_tick",
            check_int("max_shifts_per_tick", self.max_shifts_per_tick, low=0),
        )


class ShiftPlanner:
    """Chooses components to move to spares.

    Args:
        spec: The cluster's static description.
        config: The rule's parameters.
        component_map: Shared component/application conversions (one is made if None).
    """

    def __init__(
        self,
        spec: ClusterSpec,
        config: ShiftConfig | None = None,
        *,
        component_map: ComponentMap | None = None,
    ) -> None:
        self.spec = spec
        self.config = config or ShiftConfig()
        self.components = component_map or ComponentMap(spec)
        priority = np.asarray(spec.priority)[self.components.component_app]
        self._protected_app = np.asarray(spec.priority) == Priority.HIGH
        self._eligible = ~np.asarray(spec.component_critical, bool) & (priority != Priority.HIGH)

    def movable(self, state: ClusterState) -> NDArray[np.bool_]:
        """``(C,)`` components that may be shifted now."""
        result: NDArray[np.bool_] = self._eligible & ~state.migrating & ~state.on_spare
        return result

    def plan(self, state: ClusterState, forecast: F64) -> list[ShiftToSpareAction]:
        """Shifts ahead of predicted host bottlenecks (the automatic rule).

        Args:
            state: The latest snapshot.
            forecast: ``(A, K, 4, Q)`` forecast from now.
        """
        cfg = self.config
        if not cfg.enabled or cfg.max_shifts_per_tick == 0:
            return []
        lead = min(cfg.lead_ticks, forecast.shape[1])
        upper = forecast[:, :lead, :, -1]
        predicted_app = upper[:, 0].copy()
        for k in range(1, lead):
            np.maximum(predicted_app, upper[:, k], out=predicted_app)
        n_hosts = state.host_capacity.shape[0]
        per_host = self.components.host_matrix(state.host_of, n_hosts) @ predicted_app
        excess = per_host - cfg.threshold * state.host_capacity
        if not (excess > 0).any():
            return []
        hot = np.flatnonzero((excess > 0).any(axis=1))
        predicted = self.components.to_components(predicted_app)
        movable = self.movable(state)
        actions: list[ShiftToSpareAction] = []
        relative = excess / np.maximum(state.host_capacity, 1e-12)
        for host in hot[np.argsort(-relative[hot].max(axis=1), kind="stable")]:
            res = int(np.argmax(relative[host]))
            candidates = np.flatnonzero(movable & (state.host_of == host))
            order = candidates[np.argsort(-predicted[candidates, res], kind="stable")]
            left = float(excess[host, res])
            for comp in order:
                if left <= 0 or len(actions) >= cfg.max_shifts_per_tick:
                    break
                actions.append(ShiftToSpareAction(component=int(comp)))
                left -= float(predicted[comp, res])
            if len(actions) >= cfg.max_shifts_per_tick:
                break
        return actions

    def from_mask(
        self, mask: NDArray[np.bool_], state: ClusterState
    ) -> tuple[list[ShiftToSpareAction], list[str]]:
        """Shifts a policy asked for: the largest movable component of each marked app.

        Args:
            mask: ``(A,)`` True for applications to relieve.
            state: The latest snapshot.

        Returns:
            The actions, and one note per refused mark.
        """
        actions: list[ShiftToSpareAction] = []
        notes: list[str] = []
        apps = np.flatnonzero(mask)
        if apps.size == 0:
            return actions, notes
        movable = self.movable(state)
        share = self.components.share[:, 0]
        app_of = self.components.component_app
        for app in apps:
            name = self.spec.app_ids[app]
            if self._protected_app[app]:
                notes.append(f"shift of app {name} refused: HIGH-priority work is never moved out")
                continue
            candidates = np.flatnonzero(movable & (app_of == app))
            if candidates.size == 0:
                notes.append(
                    f"shift of app {name} refused: no movable component (all critical, "
                    "migrating or already on a spare)"
                )
                continue
            comp = candidates[np.argmax(share[candidates])]
            actions.append(ShiftToSpareAction(component=int(comp)))
        return actions, notes


def describe_shift(action: ShiftToSpareAction, spec: ClusterSpec) -> str:
    """One line naming the component and its application."""
    app = int(spec.component_app[action.component])
    return f"shift component {action.component} of app {spec.app_ids[app]} to a spare"
