"""The env on the real simulator: vector envs, actuation latency, guardrail reports, pool
sizing, shifting of non-HIGH work, and rollouts."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from env_fixtures import small_cluster, small_env, small_workload
from stable_baselines3.common.vec_env import SubprocVecEnv

from shadowsim.engine.action_codec import ActionCodec
from shadowsim.shadow.forecasters.last_value import LastValueForecaster
from shadowsim.sim.scaling import ScalingConfig
from shadowsim.workloads.workload import Priority
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_envs.env_config import EnvConfig
from shadowsim_envs.rollout import RECORD_KEYS, run_episode


def _make() -> ClusterEnv:
    return small_env(small_workload(n_apps=3))


def test_gymnasium_sync_and_async_vector_envs():
    for envs in (
        gym.vector.SyncVectorEnv([_make, _make]),
        gym.vector.AsyncVectorEnv([_make, _make], context="fork"),
    ):
        obs, infos = envs.reset(seed=[1, 2])
        assert obs["usage"].shape == (2, 3, 12, 4)
        actions = envs.action_space.sample()
        obs, rewards, _terminated, _truncated, infos = envs.step(actions)
        assert rewards.shape == (2,)
        assert obs["forecast"].shape[0] == 2
        assert "reward_terms" in infos
        envs.close()


def test_sb3_subproc_vec_env():
    vec = SubprocVecEnv([_make, _make], start_method="fork")
    try:
        obs = vec.reset()
        assert obs["pending"].shape == (2, 3, 4)
        actions = np.stack([vec.action_space.sample() for _ in range(2)])
        obs, rewards, _dones, infos = vec.step(actions)
        assert rewards.shape == (2,)
        assert len(infos) == 2
        assert "reward_terms" in infos[0]
    finally:
        vec.close()


def test_scaling_lands_after_the_actuation_latency():
    # 400 s latency: a decision at the end of tick t lands during tick t + 2 and is in force
    # from tick t + 3 (lead 3); the observation in between shows it as pending
    cluster = small_cluster(scaling=ScalingConfig(latency_s=(400.0, 400.0, 400.0, 400.0)))
    env = small_env(cluster=cluster)
    obs, _ = env.reset(seed=4)
    assert env.actuation_lead_ticks == 3
    assert small_env().actuation_lead_ticks == 2  # default latencies < one tick
    up = np.full(env.codec.size, len(env.codec.config.scale_factors) - 1, dtype=np.int64)  # x1.25
    before = obs["pending"]
    obs, *_ = env.step(up)
    assert (obs["pending"] > before * 1.2).all()
    np.testing.assert_allclose(obs["allocation"], before, rtol=1e-5)  # not landed yet
    obs, *_ = env.step(env.codec.hold_action)
    np.testing.assert_allclose(obs["allocation"], obs["pending"], rtol=1e-5)


def test_guardrail_changes_and_refusals_are_reported_in_info():
    engine = {
        "guardrails": {"max_change_factor": 1.1, "scale_down_cooldown_s": 0.0},
        "action": {"shift_control": "policy"},
    }
    env = small_env(engine=engine)
    env.reset(seed=1)
    codec: ActionCodec = env.codec
    action = np.full(codec.size, len(codec.config.scale_factors) - 1, dtype=np.int64)
    action[codec.n_scale :] = 1  # ask to shift a component of every app
    _, _, _, _, info = env.step(action)
    assert info["guardrails"]["MAX_CHANGE"] > 0  # x1.25 limited to x1.1
    high = np.flatnonzero(env.engine.spec.priority == Priority.HIGH)
    if high.size:
        assert info["guardrails"]["notes"] >= high.size
        text = "\n".join(info["guardrail_report"].messages())
        assert "HIGH-priority work is never moved out" in text
    assert "limited by the maximum change per tick" in "\n".join(
        info["guardrail_report"].messages()
    )


def test_shifting_never_moves_high_priority_components():
    # every host looks like a bottleneck (threshold ~0): the engine shifts what it may
    engine = {"shifting": {"threshold": 1e-6, "max_shifts_per_tick": 50}}
    env = small_env(small_workload(n_apps=10), engine=engine)
    env.reset(seed=0)
    spec = env.engine.spec
    high_component = spec.priority[spec.component_app] == Priority.HIGH
    assert high_component.any()
    moved = np.zeros(spec.n_components, bool)
    for _ in range(6):
        env.step(env.codec.hold_action)
        state = env.last_state
        moved |= state.on_spare | state.migrating
    assert moved.any()  # the rule did shift non-critical work
    assert not (moved & high_component).any()
    assert not (moved & spec.component_critical).any()


def test_pool_sizing_reacts_to_forecast_accuracy():
    workload = small_workload(n_apps=8)
    engine = {"pool": {"every_ticks": 1, "error_share": 0.5, "max_share": 1.0}}
    exact = small_env(workload, engine=engine, oracle=True)
    noisy = small_env(
        workload,
        engine=engine,
        forecaster=LastValueForecaster(interval_s=300.0, max_horizon=3600.0),
    )
    targets = {}
    for name, env in (("exact", exact), ("noisy", noisy)):
        env.reset(seed=5)
        for _ in range(3):
            env.step(env.codec.hold_action)
        targets[name] = env.last_state.pool_target.copy()
        assert env.engine.forecast_error.mean() >= 0.0
    assert exact.engine.forecast_error.max() == pytest.approx(0.0, abs=1e-12)
    assert noisy.engine.forecast_error.mean() > 0.01
    assert targets["noisy"].sum() > targets["exact"].sum()
    assert targets["noisy"][0] >= targets["exact"][0]  # warmer spares too


class _HoldPolicy:
    """Holds every allocation (a real predictor with SB3's signature)."""

    def __init__(self, env: ClusterEnv) -> None:
        self.action = env.codec.hold_action

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        return self.action, state


def test_run_episode_collects_metrics_and_records():
    env = small_env(episode_ticks=10)
    result = run_episode(env, _HoldPolicy(env), seed=3)
    assert result.n_steps == 10
    assert set(result.records) == set(RECORD_KEYS)
    assert all(len(v) == 10 for v in result.records.values())
    assert result.total_reward == pytest.approx(result.records["reward"].sum())
    assert result.metrics.n_ticks == 10
    assert result.metrics.cost == pytest.approx(result.records["cost_cu"].sum())
    again = run_episode(env, _HoldPolicy(env), seed=3)
    assert again.metrics == result.metrics


def test_run_episode_on_the_test_window_with_gym_make():
    config = EnvConfig(episode_ticks=8, warmup_ticks=24, test_window_s=3600.0, test_window=True)
    env = gym.make(
        "shadowsim/Cluster-v0", workload=small_workload(), cluster=small_cluster(), config=config
    )
    result = run_episode(env, _HoldPolicy(env.unwrapped), seed=0)
    assert result.n_steps == 12  # the whole one-hour test window
    assert result.start_tick == small_workload().n_ticks - 12
