"""The spare pool: convergence to the target, placement, holding cost, validation."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.actions import PoolTargetAction
from shadowsim.readiness import Readiness
from shadowsim.sim.cost import PriceConfig
from shadowsim.sim.moves import EventKind
from shadowsim.sim.pool import PoolConfig
from shadowsim.sim.simulator import Simulator
from tests.sim.sim_fixtures import make_workload, small_cluster


def test_pool_converges_to_its_target_after_provisioning_time() -> None:
    pool = PoolConfig(initial_target=(0, 0, 0, 0), provision_s=(400.0, 100.0, 100.0, 50.0))
    sim = Simulator(make_workload(n_ticks=8), small_cluster(pool=pool))
    (result,) = sim.apply([PoolTargetAction((2, 1, 0, 3))])
    assert result.accepted
    assert result.reason == ""
    state = sim.advance()  # 300 s: paused and stopped ready, running-idle still provisioning
    assert state.pool_count.tolist() == [0, 1, 0, 3]
    assert state.pool_target.tolist() == [2, 1, 0, 3]
    state = sim.advance()
    assert state.pool_count.tolist() == [2, 1, 0, 3]
    ready = [(e.time_s, e.count) for e in sim.events if e.kind is EventKind.SPARES_READY]
    assert ready == [(50.0, 3), (100.0, 1), (400.0, 2)]
    (shrink,) = sim.apply([PoolTargetAction((0, 1, 0, 1))])
    assert shrink.accepted
    assert sim.pool.counts().tolist() == [0, 1, 0, 1]  # released at once


def test_spares_hold_capacity_by_state_and_cost_by_state() -> None:
    size = (2.0, 4096.0, 100.0, 100.0)
    pool = PoolConfig(initial_target=(1, 1, 1, 0), spare_size=size)
    prices = PriceConfig(
        cpu_per_vcpu_h=1.0, memory_per_gib_h=1.0, disk_per_mb_s_h=0.0, network_per_mb_s_h=0.0
    )
    sim = Simulator(make_workload(n_ticks=4), small_cluster(pool=pool, prices=prices))
    held = sim.pool.held_by_host().sum(axis=0)
    # running-idle holds vCPU and memory, paused memory only, hibernated nothing
    assert np.allclose(held, [2.0, 2 * 4096.0, 0.0, 0.0])
    state = sim.advance()
    vm_per_h = 2.0 * 1.0 + 4.0 * 1.0
    expected = vm_per_h * (1.0 + 0.3 + 0.05) * 300.0 / 3600.0
    assert state.cost.pool == pytest.approx(expected)
    assert state.cost.allocation > 0
    assert state.cost.migration == 0
    assert state.cost_total.total == pytest.approx(state.cost.total)


def test_pool_targets_are_validated() -> None:
    sim = Simulator(make_workload(n_ticks=4), small_cluster(pool=PoolConfig(max_per_state=5)))
    results = sim.apply(
        [
            PoolTargetAction((1, 1, 1)),
            PoolTargetAction((1, -1, 0, 0)),
            PoolTargetAction((1, 1, 6, 0)),
            PoolTargetAction((1.5, 0, 0, 0)),  # type: ignore[arg-type]
        ]
    )
    assert not any(r.accepted for r in results)
    assert "need 4 targets" in results[0].reason
    assert "[-1]" in results[1].reason
    assert "[6]" in results[2].reason
    assert "integers in [0, 5]" in results[3].reason


def test_unplaceable_spares_are_reported_and_retried() -> None:
    huge = PoolConfig(initial_target=(0, 0, 0, 0), spare_size=(7.9, 1024.0, 10.0, 10.0))
    sim = Simulator(make_workload(n_apps=2, n_ticks=6), small_cluster(pool=huge, n_hosts=1))
    (result,) = sim.apply([PoolTargetAction((1, 0, 0, 0))])
    assert result.accepted
    assert "not placed yet" in result.reason
    assert sim.pool.holding_counts()[Readiness.RUNNING_IDLE] == 0
