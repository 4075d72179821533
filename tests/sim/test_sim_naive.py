"""The naive reference (one SimPy process per VM, scalar maths) and the simulator agree."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.errors import ConfigError
from shadowsim.sim.config import ClusterConfig
from shadowsim.sim.faults import FaultConfig
from shadowsim.sim.naive import NaiveReplay, NaiveResult
from shadowsim.sim.reactive import ReactiveConfig, ReactiveRule
from shadowsim.sim.simulator import Simulator
from shadowsim.workloads.workload import Workload
from tests.sim.sim_fixtures import make_workload, small_cluster


def _vectorised(
    workload: Workload, cfg: ClusterConfig, rule: ReactiveConfig | None
) -> tuple[Simulator, np.ndarray, np.ndarray]:
    sim = Simulator(workload, cfg)
    policy = None if rule is None else ReactiveRule(rule, workload.n_apps)
    responses, throughputs = [], []
    state = sim.advance()
    while True:
        responses.append(state.kpis.response_time_s.copy())
        throughputs.append(state.kpis.throughput_rps.copy())
        if sim.done:
            break
        if policy is not None:
            sim.apply([policy.decide(state)])
        state = sim.advance()
    return sim, np.array(responses), np.array(throughputs)


def _compare(sim: Simulator, resp: np.ndarray, tput: np.ndarray, naive: NaiveResult) -> None:
    totals = sim.ledger.totals
    for name in ("demand", "served", "throttled", "dropped"):
        assert np.array_equal(getattr(totals, name), getattr(naive, name)), name
    assert np.array_equal(resp, naive.response_s)
    assert np.array_equal(tput, naive.throughput)
    assert np.array_equal(totals.violation_ticks, naive.violation_ticks)
    assert np.array_equal(sim.alloc, naive.allocation)
    assert totals.cost.allocation == pytest.approx(naive.allocation_cost, rel=1e-12)
    assert totals.cost.pool == pytest.approx(naive.pool_cost, rel=1e-12)


def test_reactive_replay_with_contention_and_clamping_is_bit_identical() -> None:
    workload = make_workload(n_apps=24, n_ticks=40, seed=7, noise=0.5)
    cfg = small_cluster(overcommit=(2.0, 1.0, 1.5, 1.5), target_utilisation=0.9)
    rule = ReactiveConfig(stabilisation_ticks=2)
    sim, resp, tput = _vectorised(workload, cfg, rule)
    naive = NaiveReplay(workload, cfg, rule).run()
    assert sim.kernel.contention_possible
    assert naive.dropped.sum() > 0
    assert naive.throttled.sum() > 0
    _compare(sim, resp, tput, naive)


def test_static_replay_with_two_components_per_app_agrees() -> None:
    workload = make_workload(n_apps=10, n_ticks=20, seed=2, noise=0.6)
    cfg = small_cluster(components_per_app=2, component_shares=(0.3, 0.7), overcommit=(2, 1, 1, 1))
    sim, resp, tput = _vectorised(workload, cfg, None)
    naive = NaiveReplay(workload, cfg, None).run()
    totals = sim.ledger.totals
    for name in ("demand", "served", "throttled", "dropped"):
        assert np.allclose(getattr(totals, name), getattr(naive, name), rtol=1e-12), name
    assert np.allclose(resp, naive.response_s, rtol=1e-12)
    assert np.allclose(tput, naive.throughput, rtol=1e-12)
    assert np.array_equal(totals.violation_ticks, naive.violation_ticks)


def test_naive_replay_refuses_what_it_does_not_model() -> None:
    workload = make_workload()
    with pytest.raises(ConfigError) as info:
        NaiveReplay(workload, small_cluster(faults=FaultConfig(enabled=True)))
    assert info.value.key == "cluster.faults.enabled"
    with pytest.raises(ConfigError) as info:
        NaiveReplay(workload, small_cluster(components_per_app=2), ReactiveConfig())
    assert info.value.key == "cluster.components_per_app"
    with pytest.raises(ConfigError) as info:
        NaiveReplay(workload, small_cluster(control_every_ticks=2))
    assert info.value.key == "cluster.control_every_ticks"
