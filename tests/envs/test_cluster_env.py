"""ClusterEnv: spaces, both checkers, registration, reproducibility, layout and config errors."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from env_fixtures import DAY_TICKS, small_cluster, small_env, small_workload
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import shadowsim_envs
from shadowsim.engine.observation import OBSERVATION_KEYS
from shadowsim.errors import ConfigError
from shadowsim.shadow.forecasters.last_value import LastValueForecaster
from shadowsim.sim.config import ClusterConfig
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_envs.env_config import EnvConfig


def test_spaces_step_and_info():
    env = small_env()
    obs, info = env.reset(seed=3)
    assert tuple(obs) == OBSERVATION_KEYS
    assert env.observation_space.contains(obs)
    assert info["start_tick"] == env.start_tick
    assert env.action_space.shape == (6 * 4,)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs)
    terms = info["reward_terms"]
    assert reward == pytest.approx(
        -(terms["cost"] + terms["sla"] + terms["migration"] + terms["pool"])
    )
    assert terms["reward"] == pytest.approx(reward)
    for key in ("guardrails", "guardrail_report", "rejected", "sla_violations", "cost"):
        assert key in info
    assert not terminated
    assert not truncated


def test_episode_truncates_after_episode_ticks():
    env = small_env(episode_ticks=5)
    env.reset(seed=0)
    hold = env.codec.hold_action
    flags = [env.step(hold)[3] for _ in range(5)]
    assert flags == [False] * 4 + [True]


# Advice, not errors, from the checkers about layouts the engine spec fixes: the CONTINUOUS
# action space is in reference units, [0, max_target] ("not normalised"), and observations
# keep their (A, W, 4)-style shapes (SB3's MultiInputPolicy flattens them). Every other
# warning fails the test.
BOX_ADVICE = (
    ".*(symmetric and normalized|normalized action space|unconventional shape"
    "|is an image but|minimal resolution for an image).*"
)


@pytest.mark.parametrize("mode", ["discrete", "continuous"])
def test_gymnasium_checker_passes(mode):
    env = small_env(engine={"action": {"mode": mode}})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=BOX_ADVICE)
        gym_check_env(env, skip_render_check=True)


@pytest.mark.parametrize("mode", ["discrete", "continuous"])
def test_sb3_checker_passes(mode):
    env = small_env(engine={"action": {"mode": mode}})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=BOX_ADVICE)
        sb3_check_env(env, warn=True)


def test_registered_ids():
    config = EnvConfig(episode_ticks=8, warmup_ticks=24, test_window_s=86_400.0)
    kwargs = {"workload": small_workload(), "cluster": small_cluster(), "config": config}
    env = gym.make(shadowsim_envs.ENV_ID, **kwargs)
    assert isinstance(env.unwrapped, ClusterEnv)
    env2 = gym.make("shadowsim_envs:shadowsim/Cluster-v0", **kwargs)
    obs, _ = env2.reset(seed=1)
    assert env2.observation_space.contains(obs)


def _rollout(env: ClusterEnv, seed: int, n: int) -> tuple[int, list[float], dict]:
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    rewards = []
    for _ in range(n):
        obs, reward, *_ = env.step(env.action_space.sample())
        rewards.append(reward)
    return env.start_tick, rewards, obs


def test_reset_seed_is_reproducible():
    workload = small_workload()
    a = _rollout(small_env(workload), seed=7, n=6)
    b = _rollout(small_env(workload), seed=7, n=6)
    assert a[0] == b[0]
    assert a[1] == b[1]
    for key in OBSERVATION_KEYS:
        np.testing.assert_array_equal(a[2][key], b[2][key])
    starts = {small_env(workload).reset(seed=s)[1]["start_tick"] for s in range(6)}
    assert len(starts) > 1


def test_test_window_is_deterministic_last_day():
    workload = small_workload()
    env = small_env(workload, test_window=True)
    for seed in (0, 1):
        _, info = env.reset(seed=seed)
        assert info["start_tick"] == workload.n_ticks - DAY_TICKS
    assert env.episode_length == DAY_TICKS


def test_online_forecasts_give_the_same_observations_as_precomputed():
    workload = small_workload()
    fast = small_env(workload, fast=True)
    online = small_env(workload, fast=False)
    obs_fast, _ = fast.reset(seed=2)
    obs_online, _ = online.reset(seed=2)
    hold = fast.codec.hold_action
    for _ in range(4):
        for key in OBSERVATION_KEYS:
            np.testing.assert_allclose(obs_fast[key], obs_online[key], rtol=1e-6, err_msg=key)
        obs_fast = fast.step(hold)[0]
        obs_online = online.step(hold)[0]


def test_config_errors_name_keys():
    with pytest.raises(ConfigError) as info:
        EnvConfig(warmup_ticks=4)
    assert info.value.key == "env.warmup_ticks"
    with pytest.raises(ConfigError) as info:
        EnvConfig(engine={"observation": {"window": 0}})
    assert info.value.key == "env.engine.observation.window"
    with pytest.raises(ConfigError) as info:
        small_env(episode_ticks=5 * DAY_TICKS)
    assert info.value.key == "env.episode_ticks"
    with pytest.raises(ConfigError) as info:
        ClusterEnv(
            workload=small_workload(),
            cluster=ClusterConfig(),
            config=EnvConfig(lead_in_ticks=3, episode_ticks=8, warmup_ticks=24),
        )
    assert info.value.key == "env.lead_in_ticks"
    with pytest.raises(ConfigError, match="test window") as info:
        ClusterEnv(workload=small_workload(), cluster=small_cluster(), episode_ticks=8)
    assert info.value.key == "env.episode_ticks"
    with pytest.raises(ConfigError) as info:
        small_env(cluster=small_cluster(control_every_ticks=2))
    assert info.value.key == "cluster.control_every_ticks"
    with pytest.raises(ConfigError) as info:
        small_env(forecaster=LastValueForecaster(quantiles=(0.5, 0.95), interval_s=300.0))
    assert info.value.key == "engine.observation.quantiles"
