"""The Simulator as a ClusterBackend: protocol, time, determinism, end of workload."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.actions import MigrateAction, PoolTargetAction, ScaleAllAction, ShiftToSpareAction
from shadowsim.backend import ClusterBackend
from shadowsim.cluster_state import ClusterState
from shadowsim.errors import BackendError
from shadowsim.sim.faults import FaultConfig
from shadowsim.sim.simulator import Simulator
from tests.sim.sim_fixtures import make_workload, small_cluster


def test_is_a_cluster_backend_and_runs_to_the_end() -> None:
    workload = make_workload(n_apps=5, n_ticks=7)
    sim = Simulator(workload, small_cluster(control_every_ticks=3))
    assert isinstance(sim, ClusterBackend)
    assert sim.spec.interval_s == 900.0
    assert sim.spec.n_components == 5
    assert sim.observe().tick == -1
    assert sim.now_s == 0.0
    ticks = []
    while not sim.done:
        state = sim.advance()
        ticks.append((state.tick, state.time_s))
        assert sim.observe() is state
    assert ticks == [(2, 900.0), (5, 1800.0), (6, 2100.0)]  # the last interval is short
    assert sim.ledger.totals.ticks == 7
    assert np.allclose(sim.ledger.totals.demand.sum(axis=0), workload.demand.sum(axis=(0, 1)))
    with pytest.raises(BackendError, match="ended at tick 7"):
        sim.advance()


def test_interval_means_and_app_sums() -> None:
    workload = make_workload(n_apps=3, n_ticks=4)
    sim = Simulator(workload, small_cluster(components_per_app=2, control_every_ticks=4))
    state = sim.advance()
    assert np.allclose(state.kpis.demand, workload.demand.mean(axis=1))
    assert np.allclose(state.demand.reshape(3, 2, 4).sum(axis=1), state.kpis.demand)
    assert np.allclose(state.app_sum(state.usage, sim.spec), state.kpis.served)
    arrivals = state.kpis.demand[:, 0] / sim.config.queue.request_cpu_s
    assert np.allclose(state.kpis.throughput_rps, arrivals * (1 - state.kpis.error_rate))


def test_unknown_actions_are_rejected_not_dropped() -> None:
    sim = Simulator(make_workload(), small_cluster())
    results = sim.apply(["scale everything", 42])  # type: ignore[list-item]
    assert [r.accepted for r in results] == [False, False]
    assert "unknown action type str" in results[0].reason
    assert "unknown action type int" in results[1].reason


def _episode(seed: int) -> list[ClusterState]:
    workload = make_workload(n_apps=8, n_ticks=30, seed=4)
    faults = FaultConfig(enabled=True, rate_per_host_h=2.0, repair_s=900.0)
    cfg = small_cluster(components_per_app=2, faults=faults, seed=seed, overcommit=(2, 1, 1, 1))
    sim = Simulator(workload, cfg)
    rng = np.random.default_rng(0)
    states = []
    while not sim.done:
        targets = sim.pending[::2] * rng.uniform(0.7, 1.4, (8, 4)) * 2
        sim.apply(
            [
                ScaleAllAction(targets),
                ShiftToSpareAction(int(rng.integers(16))),
                MigrateAction(int(rng.integers(16)), int(rng.integers(sim.spec.n_hosts))),
                PoolTargetAction(tuple(int(x) for x in rng.integers(0, 3, 4))),
            ]
        )
        states.append(sim.advance().copy())
    return states


def _same(a: ClusterState, b: ClusterState) -> bool:
    arrays = ("demand", "usage", "allocation", "pending_allocation", "host_of", "host_used")
    kpis = ("served", "dropped", "response_time_s", "error_rate", "sla_violated")
    return (
        all(np.array_equal(getattr(a, n), getattr(b, n)) for n in arrays)
        and all(np.array_equal(getattr(a.kpis, n), getattr(b.kpis, n)) for n in kpis)
        and a.cost_total == b.cost_total
        and np.array_equal(a.pool_count, b.pool_count)
    )


def test_same_seed_and_config_give_bit_identical_runs() -> None:
    first, again, other = _episode(1), _episode(1), _episode(2)
    assert all(_same(a, b) for a, b in zip(first, again, strict=True))
    assert not all(_same(a, b) for a, b in zip(first, other, strict=True))
