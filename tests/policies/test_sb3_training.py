"""Training helpers of shadowsim_policies.sb3.common: evaluations that can be compared."""

from __future__ import annotations

import torch
from stable_baselines3 import PPO

from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_envs.env_config import EnvConfig
from shadowsim_policies.sb3.algorithm import ALGORITHMS
from shadowsim_policies.sb3.common import EvaluationCallback, VecEnvKind, make_vec_env

DAY = 288


def make_env(index: int) -> ClusterEnv:
    workload = SyntheticGenerator(SyntheticConfig(seed=3, n_apps=2, n_ticks=3 * DAY)).load()
    config = EnvConfig(episode_ticks=12, test_window_s=DAY * 300.0 / 4, seed=index)
    return ClusterEnv(workload, config=config)


def test_every_evaluation_replays_the_same_episodes(tmp_path):
    torch.set_num_threads(1)
    algorithm = ALGORITHMS.get("ppo")
    eval_env = make_vec_env(make_env, 1, VecEnvKind.DUMMY, algorithm)
    model = PPO("MultiInputPolicy", eval_env, n_steps=16, batch_size=16, seed=0, device="cpu")
    saved = []

    def save(m, directory):
        saved.append(directory)
        return directory

    seeded = EvaluationCallback(1, eval_env, 2, tmp_path, save, seed=5)
    seeded.init_callback(model)
    seeded.evaluate()
    seeded.evaluate()
    (_, first, _), (_, second, _) = seeded.history
    assert first == second
    assert len(saved) == 1  # the second one is not better
    drifting = EvaluationCallback(1, eval_env, 2, tmp_path, save, seed=None)
    drifting.init_callback(model)
    drifting.evaluate()
    drifting.evaluate()
    (_, a, _), (_, b, _) = drifting.history
    assert a != b  # without re-seeding the episodes differ (what the seed fixes)
