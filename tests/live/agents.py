"""A tiny stable-baselines3 agent trained in simulation, for the deployment tests."""

from __future__ import annotations

from pathlib import Path


def train_tiny_agent(n_apps: int, out: Path) -> Path:
    """Train PPO for 8 steps on ``n_apps`` synthetic applications and save it (pickle-free)
    into ``out``; returns ``out``. Its observations fit a live cluster of ``n_apps``
    applications, as a policy trained in simulation and deployed unchanged."""
    import torch
    from stable_baselines3.common.vec_env import DummyVecEnv

    from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
    from shadowsim_envs.cluster_env import ClusterEnv
    from shadowsim_policies.sb3 import ALGORITHMS, save_agent
    from shadowsim_policies.sb3.common import build_model

    torch.set_num_threads(1)
    workload = SyntheticGenerator(SyntheticConfig(n_apps=n_apps, seed=0)).load()
    env = ClusterEnv(workload, episode_ticks=8, warmup_ticks=24)
    algorithm = ALGORITHMS.get("ppo")
    hyper = algorithm.hyperparameters({"n_steps": 8, "batch_size": 8})
    model = build_model(algorithm, hyper, DummyVecEnv([lambda: env]), seed=0)
    model.learn(8)
    save_agent(model, algorithm, hyper, out, env_action_space=env.action_space)
    return out


def train_continuous_agent(n_apps: int, out: Path) -> Path:
    """Train PPO for 8 steps through ``train_agent`` (which records the env's settings) on
    CONTINUOUS actions of at most 4 reference units; returns the agent's folder."""
    import torch

    from shadowsim.engine.action_codec import ActionConfig, ActionMode
    from shadowsim.engine.engine_config import EngineConfig
    from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
    from shadowsim_envs.cluster_env import ClusterEnv
    from shadowsim_envs.env_config import EnvConfig
    from shadowsim_policies.sb3.common import TrainConfig, train_agent

    torch.set_num_threads(1)
    workload = SyntheticGenerator(SyntheticConfig(n_apps=n_apps, seed=0)).load()
    engine = EngineConfig(action=ActionConfig(mode=ActionMode.CONTINUOUS, max_target=4.0))
    config = EnvConfig(engine=engine, episode_ticks=8, warmup_ticks=24)
    train = TrainConfig(
        algorithm="ppo", total_timesteps=8, eval_every=0, checkpoint_every=0,
        progress_bar=False, hyperparameters={"n_steps": 8, "batch_size": 8, "net_arch": [8]},
    )
    return train_agent(lambda i: ClusterEnv(workload, config=config), train, out).agent_dir
