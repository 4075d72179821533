"""Live migration and shifts to spares: timing, degradation, reservations, rejections."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.actions import MigrateAction, ShiftToSpareAction
from shadowsim.readiness import Readiness
from shadowsim.resources import Resource
from shadowsim.sim.migration import MigrationConfig, plan_migration
from shadowsim.sim.moves import EventKind
from shadowsim.sim.pool import PoolConfig
from shadowsim.sim.simulator import Simulator
from tests.sim.sim_fixtures import make_workload, small_cluster


def test_precopy_rounds_by_hand() -> None:
    cfg = MigrationConfig(
        bandwidth_mib_s=1000.0, dirty_rate_mib_s=100.0, stop_copy_mib=64.0, switchover_s=0.2
    )
    plan = plan_migration(1000.0, cfg)
    assert plan.rounds == 2
    assert plan.precopy_s == pytest.approx(1.0 + 0.1)
    assert plan.downtime_s == pytest.approx(10.0 / 1000.0 + 0.2)
    assert plan.copied_mib == pytest.approx(1110.0)
    assert plan.duration_s == pytest.approx(1.31)


def test_precopy_that_never_converges_stops_at_max_rounds() -> None:
    cfg = MigrationConfig(bandwidth_mib_s=100.0, dirty_rate_mib_s=200.0, max_rounds=5)
    plan = plan_migration(500.0, cfg)
    assert plan.rounds == 5
    assert plan.precopy_s == pytest.approx(25.0)
    assert plan.downtime_s == pytest.approx(5.0 + cfg.switchover_s)


def _flat(n_apps: int, n_ticks: int) -> np.ndarray:
    return np.full((n_apps, n_ticks, 4), 1.0) * np.array([1.0, 2048.0, 500.0, 500.0])


def test_migration_timing_degradation_and_reservation() -> None:
    migration = MigrationConfig(bandwidth_mib_s=2.0, dirty_rate_mib_s=0.0, degradation=0.5)
    cfg = small_cluster(n_hosts=2, migration=migration)
    sim = Simulator(make_workload(demand=_flat(2, 8)), cfg)
    comp = 0
    src = int(sim.host_of[comp])
    dest = 1 - src
    memory = float(sim.alloc[comp, Resource.MEMORY])
    plan = plan_migration(memory, migration)
    reserved_before = sim.host_reserved()[dest].copy()
    (result,) = sim.apply([MigrateAction(comp, dest)])
    assert result.accepted
    assert result.effective_at_s == pytest.approx(plan.duration_s)
    assert np.allclose(sim.host_reserved()[dest], reserved_before + sim.reserve[comp])
    assert plan.duration_s > 300.0  # slow link: spans the first tick
    state = sim.advance()
    assert state.migrating[comp]
    assert state.host_of[comp] == src
    # demand 1 vCPU, allocation 1.2 vCPU, served at half: 0.6
    assert state.usage[comp, Resource.CPU] == pytest.approx(0.6)
    assert state.migrations == 1
    assert state.cost.migration > 0
    while sim.now_s < plan.duration_s + 300.0:
        state = sim.advance()
    assert not state.migrating[comp]
    assert state.host_of[comp] == dest
    assert state.usage[comp, Resource.CPU] == pytest.approx(1.0)
    kinds = [(e.kind, e.time_s) for e in sim.events if e.component == comp]
    assert kinds == [
        (EventKind.MIGRATION_START, 0.0),
        (EventKind.MIGRATION_END, pytest.approx(plan.duration_s)),
    ]


def test_migrations_are_validated() -> None:
    sim = Simulator(make_workload(demand=_flat(2, 4)), small_cluster(n_hosts=2))
    src = int(sim.host_of[0])
    results = sim.apply(
        [
            MigrateAction(7, 0),
            MigrateAction(0, 5),
            MigrateAction(0, src),
            MigrateAction(0, 1 - src),
            MigrateAction(0, src),
        ]
    )
    assert [r.accepted for r in results] == [False, False, False, True, False]
    assert "unknown component 7" in results[0].reason
    assert "unknown host 5" in results[1].reason
    assert "already runs on host" in results[2].reason
    assert "already moving" in results[4].reason


def test_migration_needs_room_on_the_destination() -> None:
    # two VMs of 5 vCPU on hosts of 8 vCPU: one per host, no room for the other
    demand = _flat(2, 4) * (5.0 / 1.2)
    cfg = small_cluster(pool=PoolConfig(initial_target=(0, 0, 0, 0)))
    sim = Simulator(make_workload(demand=demand), cfg)
    assert sorted(sim.host_of.tolist()) == [0, 1]
    (result,) = sim.apply([MigrateAction(0, int(sim.host_of[1]))])
    assert not result.accepted
    assert "lacks room" in result.reason
    assert "needs [5.0," in result.reason


def test_shift_to_spare_takes_the_readiest_spare_and_replenishes() -> None:
    pool = PoolConfig(initial_target=(1, 1, 0, 0), activation_s=(2.0, 30.0, 60.0, 90.0))
    cfg = small_cluster(components_per_app=2, pool=pool)
    priority = np.zeros(3, dtype=np.int8)  # LOW: second components may move
    sim = Simulator(make_workload(demand=_flat(3, 8), priority=priority), cfg)
    assert sim.pool.counts().tolist() == [1, 1, 0, 0]
    first, second, third = sim.apply(
        [ShiftToSpareAction(1), ShiftToSpareAction(3), ShiftToSpareAction(5)]
    )
    assert first.accepted
    assert Readiness.RUNNING_IDLE.name in first.reason
    assert first.effective_at_s == pytest.approx(2.0 + pool.handover_s)
    assert second.accepted
    assert Readiness.PAUSED.name in second.reason
    assert second.effective_at_s == pytest.approx(30.0 + pool.handover_s)
    assert not third.accepted
    assert "no spare available" in third.reason
    (critical,) = sim.apply([ShiftToSpareAction(0)])
    assert not critical.accepted
    assert "critical" in critical.reason
    state = sim.advance()
    assert state.on_spare[[1, 3]].all()
    assert not state.on_spare[5]
    assert state.migrations == 2
    # the pool provisions replacements: ready after provision_s
    assert state.pool_count.tolist() == [1, 1, 0, 0]
    ends = [e for e in sim.events if e.kind is EventKind.SHIFT_END]
    assert [e.time_s for e in ends] == [pytest.approx(3.0), pytest.approx(31.0)]
    # the 1 s handover pause takes 1/300 of the tick's capacity: the 20 % headroom absorbs it
    assert state.usage[1, Resource.CPU] == pytest.approx(0.5)
    assert state.kpis.dropped.sum() == 0
