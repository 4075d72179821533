"""Metrics pair each tick's usage with the allocation that served it (not the next tick's).

The fixture saturates every resource: demand far above any allocation, so the simulator serves
exactly the allocation in force and the true relative slack is 0. Allocations grow by 30% every
tick, so pairing usage with the allocation a snapshot reports for the tick after (the old
misalignment) gives a clearly positive slack.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from engine.cluster_fixtures import make_spec, make_state

from shadowsim.actions import ScaleAllAction
from shadowsim.engine.engine_config import EngineConfig
from shadowsim.errors import ConfigError, ShadowSimError
from shadowsim.metrics import MetricsAccumulator, ServedAllocation, compute_metrics
from shadowsim.sim.config import ClusterConfig
from shadowsim.sim.placement import InitialAllocationConfig
from shadowsim.sim.scaling import ScalingConfig
from shadowsim.sim.simulator import Simulator
from shadowsim.workloads.workload import Priority, Workload
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_envs.env_config import EnvConfig
from shadowsim_envs.rollout import run_episode

N_APPS = 3
LOW = np.array([1.0, 1_000.0, 1_000.0, 1_000.0])  # per-application totals
GROWTH = 1.3  # targets are LOW * GROWTH**step
STEPS = 14
DEMAND = 100.0 * LOW  # far above every target (GROWTH**13 = 30)


LEAD_IN = 12  # the simulator's initial-allocation window below (one hour)


def saturated_workload(n_ticks: int, quiet_from: int = 0) -> Workload:
    """Demand far above the allocations the tests ask for, except a quiet hour from tick
    ``quiet_from`` (the simulator's initial allocation, sized on that hour, is below it too)."""
    demand = np.broadcast_to(DEMAND, (N_APPS, n_ticks, 4)).copy()
    demand[:, quiet_from : quiet_from + LEAD_IN] = 0.1 * LOW
    return Workload(
        demand=demand,
        interval_s=300.0,
        app_ids=tuple(f"app{i}" for i in range(N_APPS)),
        priority=np.array([Priority.LOW, Priority.MEDIUM, Priority.HIGH], dtype=np.int8),
        sla_response_s=np.full(N_APPS, 1.0),
        sla_max_error_rate=np.full(N_APPS, 0.01),
    )


def cluster(latency_s: tuple[float, ...]) -> ClusterConfig:
    return ClusterConfig(
        initial=InitialAllocationConfig(window_s=3_600.0),
        scaling=ScalingConfig(latency_s=latency_s, min_allocation=(0.01, 1.0, 1.0, 1.0)),
    )


LATENCIES = [
    (15.0, 30.0, 5.0, 5.0),  # the default: lands inside the tick after the decision
    (0.0, 0.0, 0.0, 0.0),  # lands at once
    (300.0, 600.0, 300.0, 0.0),  # lands exactly on a later tick boundary
    (450.0, 0.0, 15.0, 300.0),  # mixed
]


@pytest.mark.parametrize("latency", LATENCIES)
def test_simulator_slack_is_zero_when_saturated(latency: tuple[float, ...]) -> None:
    sim = Simulator(saturated_workload(LEAD_IN + STEPS), cluster(latency))
    for _ in range(LEAD_IN):
        initial = sim.advance().copy()  # snapshots are valid until the next advance()
    states = []
    for t in range(STEPS):
        result = sim.apply([ScaleAllAction(np.tile(LOW * GROWTH**t, (N_APPS, 1)))])
        assert result[0].accepted, result[0].reason
        states.append(sim.advance().copy())
    serving = ServedAllocation.for_latency(latency, 300.0)
    paired = compute_metrics(states, sim.spec, serving=serving, initial=initial)
    np.testing.assert_allclose(paired.relative_slack, 0.0, atol=1e-9)
    as_reported = compute_metrics(states, sim.spec)
    early = np.asarray(serving.reported_early)
    # the old pairing (the allocation reported at the end of the tick) is off where
    # changes show one tick early, and only there
    assert np.all(np.asarray(as_reported.relative_slack)[early] > 0.1)
    np.testing.assert_allclose(np.asarray(as_reported.relative_slack)[~early], 0.0, atol=1e-9)


class Growing:
    """A CONTINUOUS-mode predictor: targets ``LOW * GROWTH**step`` (ref units)."""

    def __init__(self, env: ClusterEnv) -> None:
        self.env = env
        self.step = 0

    def predict(self, observation: Any, state: Any = None, **_: Any) -> tuple[Any, Any]:
        ref = self.env.engine.ref
        totals = np.tile(LOW * GROWTH**self.step, (N_APPS, 1))
        self.step += 1
        return (totals / ref).astype(np.float32).ravel(), None


def test_rollout_slack_is_zero_when_saturated() -> None:
    engine = EngineConfig(
        action={"mode": "CONTINUOUS", "max_target": 10.0},
        guardrails={"min_ref": (0.0,) * 4, "min_abs": (0.0,) * 4, "max_change_factor": 1e3},
        shifting={"enabled": False},
    )
    n_ticks = 3 * 288
    env = ClusterEnv(
        saturated_workload(n_ticks, quiet_from=n_ticks - 288 - LEAD_IN),
        cluster((15.0, 30.0, 5.0, 5.0)),
        config=EnvConfig(test_window=True, test_window_s=86_400.0, warmup_ticks=24, engine=engine),
    )
    result = run_episode(env, Growing(env), seed=0, max_steps=STEPS)
    assert result.n_steps == STEPS
    np.testing.assert_allclose(result.metrics.relative_slack, 0.0, atol=1e-9)
    assert result.metrics.sla_violation_rate == 1.0  # saturated: every tick breaks the SLA


def test_previous_snapshot_pairing_by_hand() -> None:
    spec = make_spec(priorities=(Priority.LOW,), per_app=1, n_hosts=1)
    a0 = np.array([[4.0, 400.0, 40.0, 40.0]])
    a1 = np.array([[2.0, 200.0, 20.0, 20.0]])
    used = np.array([[2.0, 100.0, 10.0, 10.0]])
    before = make_state(spec, app_allocation=a0, app_demand=used)
    after = make_state(spec, app_allocation=a1, app_demand=used, tick=1)
    early = ServedAllocation((True, False, True, False))
    m = compute_metrics([after], spec, serving=early, initial=before)
    # CPU and disk: served by the previous snapshot's 4 and 40; memory and network by 200, 20
    np.testing.assert_allclose(m.relative_slack, (0.5, 0.5, 0.75, 0.5))


def test_missing_initial_and_bad_settings_raise() -> None:
    spec = make_spec(priorities=(Priority.LOW,), per_app=1, n_hosts=1)
    state = make_state(spec, app_allocation=np.ones((1, 4)), app_demand=np.ones((1, 4)))
    acc = MetricsAccumulator(spec, serving=ServedAllocation.for_latency((15.0,) * 4, 300.0))
    with pytest.raises(ShadowSimError, match="start"):
        acc.add(state)
    with pytest.raises(ConfigError, match="latency_s"):
        ServedAllocation.for_latency((15.0, -1.0, 0.0, 0.0), 300.0)
    with pytest.raises(ConfigError, match="one entry per resource"):
        ServedAllocation((True, False))
    assert ServedAllocation.for_latency((0.0, 300.0, 900.0, 1e-12), 300.0).reported_early == (
        False,
        False,
        False,
        False,
    )
