"""Property-based tests of the simulator's invariants under random workloads and actions."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shadowsim.actions import MigrateAction, PoolTargetAction, ScaleAllAction, ShiftToSpareAction
from shadowsim.cluster_state import ClusterState
from shadowsim.sim.faults import FaultConfig
from shadowsim.sim.simulator import Simulator
from tests.sim.sim_fixtures import make_workload, small_cluster

EPS = 1e-9

scenarios = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 10_000),
        "n_apps": st.integers(1, 6),
        "n_ticks": st.integers(1, 12),
        "per_app": st.integers(1, 3),
        "every": st.integers(1, 4),
        "cpu_overcommit": st.sampled_from([1.0, 1.5, 3.0]),
        "faults": st.booleans(),
    }
)


def _run(s: dict[str, int | float | bool]) -> list[ClusterState]:
    workload = make_workload(int(s["n_apps"]), int(s["n_ticks"]), seed=int(s["seed"]), noise=0.8)
    cfg = small_cluster(
        workload,
        components_per_app=int(s["per_app"]),
        control_every_ticks=int(s["every"]),
        overcommit=(float(s["cpu_overcommit"]), 1.0, 1.0, 1.0),
        faults=FaultConfig(enabled=bool(s["faults"]), rate_per_host_h=2.0, repair_s=600.0),
        seed=int(s["seed"]),
    )
    sim = Simulator(workload, cfg)
    rng = np.random.default_rng(int(s["seed"]))
    n_comp, n_hosts = sim.spec.n_components, sim.spec.n_hosts
    states = []
    while not sim.done:
        targets = (
            rng.uniform(0.0, 2.0, (workload.n_apps, 4)) * sim.pending[:: cfg.components_per_app]
        )
        targets[rng.random(targets.shape) < 0.3] = np.nan
        sim.apply(
            [
                ScaleAllAction(targets * cfg.components_per_app),
                MigrateAction(int(rng.integers(n_comp)), int(rng.integers(n_hosts))),
                ShiftToSpareAction(int(rng.integers(n_comp))),
                PoolTargetAction(tuple(int(x) for x in rng.integers(0, 3, 4))),
            ]
        )
        state = sim.advance()
        states.append(state.copy())
        assert (sim.host_reserved() <= sim.host_limit * (1 + 1e-12) + EPS).all()
    return states


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios)
def test_invariants_hold_at_every_control_tick(s: dict[str, int | float | bool]) -> None:
    for state in _run(s):
        limit = state.host_capacity * np.asarray(small_cluster().overcommit)
        cpu_limit = state.host_capacity[:, 0] * float(s["cpu_overcommit"])
        assert (state.host_allocated[:, 1:] <= limit[:, 1:] + EPS).all()
        assert (state.host_allocated[:, 0] <= cpu_limit * (1 + 1e-12) + EPS).all()
        assert (state.host_used <= state.host_capacity * (1 + 1e-12) + EPS).all()
        assert (state.usage <= state.demand * (1 + 1e-12) + EPS).all()
        k = state.kpis
        total = k.served + k.throttled + k.dropped
        assert np.allclose(total, k.demand, rtol=1e-9, atol=1e-9)
        assert (k.served >= -EPS).all()
        assert (k.throttled >= -EPS).all()
        assert (k.dropped >= -EPS).all()
        assert ((k.error_rate >= 0) & (k.error_rate <= 1)).all()
        assert (k.response_time_s > 0).all()
        for cost in (state.cost, state.cost_total):
            assert cost.allocation >= 0
            assert cost.pool >= 0
            assert cost.migration >= 0


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios)
def test_same_seed_same_results(s: dict[str, int | float | bool]) -> None:
    first, again = _run(s), _run(s)
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a.usage, b.usage)
        assert np.array_equal(a.allocation, b.allocation)
        assert np.array_equal(a.kpis.response_time_s, b.kpis.response_time_s)
        assert a.cost_total == b.cost_total
        assert np.array_equal(a.host_of, b.host_of)
