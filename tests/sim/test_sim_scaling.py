"""Vertical scaling through ScaleAction and the bulk ScaleAllAction."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.actions import ScaleAction, ScaleAllAction
from shadowsim.resources import Resource
from shadowsim.sim.scaling import ScalingConfig
from shadowsim.sim.simulator import Simulator
from tests.sim.sim_fixtures import make_workload, small_cluster


def _flat(n_apps: int = 4, n_ticks: int = 6, level: float = 1.0) -> np.ndarray:
    return np.full((n_apps, n_ticks, 4), level) * np.array([1.0, 1024.0, 500.0, 500.0])


def test_change_lands_at_the_first_tick_boundary_after_its_latency() -> None:
    cfg = small_cluster(scaling=ScalingConfig(latency_s=(15.0, 0.0, 300.0, 600.0)))
    sim = Simulator(make_workload(demand=_flat()), cfg)
    before = sim.alloc[0].copy()
    targets = np.full((4, 4), np.nan)
    targets[0] = before * 2
    (result,) = sim.apply([ScaleAllAction(targets)])
    assert result.accepted
    assert result.reason == ""
    assert result.effective_at_s == 600.0
    assert sim.alloc[0, Resource.MEMORY] == before[Resource.MEMORY] * 2  # latency 0: at once
    state = sim.advance()
    assert state.allocation[0, Resource.CPU] == before[Resource.CPU] * 2  # landed at 15 s
    assert state.usage[0, Resource.CPU] == pytest.approx(1.0)  # tick 0 ran on the old one
    assert state.allocation[0, Resource.DISK] == before[Resource.DISK]  # lands at 300 s
    assert state.pending_allocation[0, Resource.DISK] == before[Resource.DISK] * 2
    state = sim.advance()
    assert state.allocation[0, Resource.DISK] == before[Resource.DISK] * 2
    assert state.allocation[0, Resource.NETWORK] == before[Resource.NETWORK]
    state = sim.advance()
    assert state.allocation[0, Resource.NETWORK] == before[Resource.NETWORK] * 2


def test_bad_entries_are_rejected_one_by_one_with_reasons() -> None:
    sim = Simulator(make_workload(demand=_flat()), small_cluster())
    targets = np.full((4, 4), np.nan)
    targets[0, 0] = -1.0
    targets[1, 1] = np.inf
    targets[2, 2] = 1000.0
    (result,) = sim.apply([ScaleAllAction(targets)])
    assert result.accepted
    outcome = result.outcome
    assert outcome is not None
    assert outcome.rejected_reasons == {"negative target": 1, "non-finite target": 1}
    assert outcome.accepted.tolist()[2] == [False, False, True, False]
    assert not outcome.accepted[0, 0]
    assert not outcome.accepted[1, 1]
    assert "1 rejected: negative target" in result.reason
    assert np.isnan(outcome.applied[0, 0])
    assert outcome.applied[2, 2] == 1000.0
    (all_bad,) = sim.apply([ScaleAllAction(np.full((4, 4), -2.0))])
    assert not all_bad.accepted
    assert "16 rejected: negative target" in all_bad.reason
    (hold,) = sim.apply([ScaleAllAction(np.full((4, 4), np.nan))])
    assert hold.accepted
    assert "nothing to change" in hold.reason
    (shape,) = sim.apply([ScaleAllAction(np.zeros((3, 4)))])
    assert not shape.accepted
    assert "shape (4, 4)" in shape.reason


def test_targets_are_clamped_to_bounds_and_host_room() -> None:
    cfg = small_cluster(scaling=ScalingConfig(latency_s=(0, 0, 0, 0)), n_hosts=1)
    sim = Simulator(make_workload(demand=_flat(n_apps=2)), cfg)
    room_before = sim.room()[0, Resource.CPU] + sim.alloc[1, Resource.CPU]
    targets = np.full((2, 4), np.nan)
    targets[0, Resource.CPU] = 0.0  # below the minimum
    targets[1, Resource.CPU] = 100.0  # far beyond the host (8 vCPU)
    (result,) = sim.apply([ScaleAllAction(targets)])
    assert result.outcome is not None
    assert result.outcome.clamped[:, Resource.CPU].tolist() == [True, True]
    assert "2 entries clamped" in result.reason
    assert sim.alloc[0, Resource.CPU] == pytest.approx(cfg.scaling.min_allocation[Resource.CPU])
    # the decrease frees room only once it has landed: app 1 gets the room left before
    assert sim.alloc[1, Resource.CPU] == pytest.approx(room_before)
    assert (sim.host_reserved() <= sim.host_limit + 1e-9).all()


def test_scale_action_validates_its_fields() -> None:
    sim = Simulator(make_workload(demand=_flat()), small_cluster())
    results = sim.apply(
        [
            ScaleAction(9, Resource.CPU, 1.0),
            ScaleAction(0, 2, 1.0),  # type: ignore[arg-type]
            ScaleAction(0, Resource.CPU, float("nan")),
            ScaleAction(0, Resource.CPU, -3.0),
            ScaleAction(1, Resource.MEMORY, 4096.0),
        ]
    )
    assert [r.accepted for r in results] == [False, False, False, False, True]
    assert "unknown app 9" in results[0].reason
    assert "must be a Resource" in results[1].reason
    assert "NaN" in results[2].reason
    assert "negative target" in results[3].reason
    assert results[4].outcome is not None
    assert results[4].outcome.accepted[1, 1]
