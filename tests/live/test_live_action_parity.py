"""The simulator and the libvirt adapter answer the same malformed actions the same way."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shadowsim.actions import (
    Action,
    MigrateAction,
    PoolTargetAction,
    ScaleAction,
    ScaleAllAction,
    ShiftToSpareAction,
)
from shadowsim.live.backend import LibvirtBackend
from shadowsim.resources import Resource
from shadowsim.sim.config import ClusterConfig
from shadowsim.sim.simulator import Simulator
from shadowsim.workloads.workload import Workload

from .libvirt_nodes import demo_config, skip_without_libvirt

pytestmark = skip_without_libvirt

MALFORMED: list[object] = [
    ScaleAction(7, Resource.CPU, 2.0),
    ScaleAction(True, Resource.CPU, 2.0),  # type: ignore[arg-type]
    ScaleAction(0, 2, 2.0),  # type: ignore[arg-type]
    ScaleAction(0, Resource.MEMORY, "lots"),  # type: ignore[arg-type]
    ScaleAction(0, Resource.MEMORY, float("nan")),
    ScaleAllAction(np.ones((2, 4))),
    ScaleAllAction(np.full((3, 4), "x")),
    MigrateAction(6, 0),
    MigrateAction(1.5, 0),  # type: ignore[arg-type]
    ShiftToSpareAction(-1),
    PoolTargetAction((1, 1)),
    "scale up",
]


def _simulator() -> Simulator:
    """Three applications of two components each on two hosts, as the live demo cluster."""
    demand = np.broadcast_to([1.0, 1024.0, 100.0, 100.0], (3, 4, 4)).copy()
    workload = Workload(
        demand=demand,
        interval_s=60.0,
        app_ids=("web", "api", "batch"),
        priority=np.array([0, 1, 2], dtype=np.int8),
        sla_response_s=np.full(3, 0.5),
        sla_max_error_rate=np.full(3, 0.01),
    )
    return Simulator(workload, ClusterConfig(n_hosts=2, components_per_app=2))


def test_same_rejections_on_both_backends(tmp_path: Path) -> None:
    actions: list[Action] = MALFORMED  # type: ignore[assignment]
    simulated = _simulator().apply(actions)
    with LibvirtBackend(demo_config(tmp_path)) as backend:
        assert backend.spec.n_apps == 3
        assert backend.spec.n_components == 6
        live = backend.apply(actions)
    for action, sim_result, live_result in zip(actions, simulated, live, strict=True):
        assert not sim_result.accepted, action
        assert not live_result.accepted, action
        assert sim_result.reason == live_result.reason, action
        assert sim_result.reason  # never an empty reason for a rejection
