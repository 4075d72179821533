"""Evaluation reports each episode's return (the sum of the env's rewards) beside the metrics."""

from __future__ import annotations

import pytest

from shadowsim.sim.config import ClusterConfig
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
from shadowsim.workloads.workload import Workload
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_envs.env_config import EnvConfig
from shadowsim_envs.rollout import run_episode
from shadowsim_policies.base import POLICIES
from shadowsim_policies.evaluation import ModeChoice, env_config_for, evaluate, summary


def _workload(seed: int = 0) -> Workload:
    return SyntheticGenerator(SyntheticConfig(seed=1, n_apps=2, n_ticks=4 * 288)).load()


def test_evaluation_reports_the_episode_return_the_env_gave() -> None:
    """``episode_return`` is the sum of the env's rewards: what an RL agent is trained on."""
    base = EnvConfig(warmup_ticks=24, test_window_s=86400.0)
    hpa = POLICIES.get("hpa")
    results = evaluate(hpa, _workload, ClusterConfig(), base, [0, 1], regret=False)
    for result in results:
        config = env_config_for(hpa(), base, ModeChoice.NATIVE, result.seed)
        env = ClusterEnv(_workload(), ClusterConfig(), config=config)
        policy = hpa()
        policy.bind(env)
        assert result.episode_return == run_episode(env, policy, seed=result.seed).total_reward
        assert result.episode_return < 0.0  # minus costs and penalties
    mean, std = summary(results)
    assert mean["episode_return"] == pytest.approx(sum(r.episode_return for r in results) / 2)
    assert "episode_return" in std
