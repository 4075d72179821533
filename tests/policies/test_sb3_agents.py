"""SB3 agents: training, pickle-free save/load round trips, and refusals with clear errors."""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import pytest
import torch

from shadowsim.engine.action_codec import ActionConfig, ActionMode
from shadowsim.engine.engine_config import EngineConfig
from shadowsim.engine.observation import ObservationVersionError
from shadowsim.errors import ActionError, ArtifactError, ConfigError, UnknownNameError
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_envs.env_config import EnvConfig
from shadowsim_envs.rollout import run_episode
from shadowsim_policies import PolicyError
from shadowsim_policies.sb3 import load_agent
from shadowsim_policies.sb3.common import TrainConfig, train_agent
from shadowsim_policies.sb3.joint_discrete import JointDiscreteActions

DAY = 288


def make_env(index: int, n_apps: int = 2, mode: ActionMode = ActionMode.DISCRETE) -> ClusterEnv:
    workload = SyntheticGenerator(SyntheticConfig(seed=1, n_apps=n_apps, n_ticks=3 * DAY)).load()
    config = EnvConfig(
        episode_ticks=24, test_window_s=DAY * 300.0 / 4, seed=index,
        engine=EngineConfig(action=ActionConfig(mode=mode)),
    )
    return ClusterEnv(workload, config=config)


HYPER = {
    "ppo": {"n_steps": 16, "batch_size": 16, "n_epochs": 1, "net_arch": [16]},
    "a2c": {"n_steps": 8, "net_arch": [16]},
    "recurrent_ppo": {"n_steps": 16, "batch_size": 16, "n_epochs": 1, "net_arch": [16],
                      "lstm_hidden_size": 8},
    "dqn": {"learning_starts": 8, "buffer_size": 200, "batch_size": 8, "net_arch": [16]},
}


def train(algorithm: str, tmp_path, factory=make_env, **extra):
    torch.set_num_threads(1)
    config = TrainConfig(
        algorithm=algorithm, total_timesteps=32, progress_bar=False,
        hyperparameters=HYPER[algorithm], **extra,
    )
    return train_agent(factory, config, tmp_path / algorithm)


def observations(env: ClusterEnv, n: int = 5):
    obs, _ = env.reset(seed=7)
    env.action_space.seed(7)
    out = [obs]
    for _ in range(n - 1):
        obs, *_ = env.step(env.action_space.sample())
        out.append(obs)
    return out


@pytest.mark.parametrize("algorithm", ["ppo", "a2c", "recurrent_ppo"])
def test_save_load_round_trip_gives_identical_actions(algorithm, tmp_path):
    result = train(algorithm, tmp_path, checkpoint_every=16, eval_every=16)
    assert [p.name for p in result.checkpoints] == ["step_16", "step_32"]
    assert len(result.evaluations) == 2
    assert (result.best_dir / "agent.json").is_file()
    first, second = load_agent(result.agent_dir), load_agent(result.agent_dir)
    env = make_env(0)
    first.bind(env)
    second.bind(env)
    state_a = state_b = None
    for i, obs in enumerate(observations(env)):
        a, state_a = first.predict(obs, state_a, episode_start=np.array([i == 0]))
        b, state_b = second.predict(obs, state_b, episode_start=np.array([i == 0]))
        np.testing.assert_array_equal(a, b)
        assert env.action_space.contains(a)
    meta = json.loads((result.agent_dir / "agent.json").read_text())
    assert meta["algorithm"] == algorithm
    assert meta["observation_version"] == "1"
    assert meta["training"]["timesteps"] == 32


def test_loaded_agent_matches_the_trained_model(tmp_path):
    from stable_baselines3 import PPO

    from shadowsim_policies.sb3.algorithm import ALGORITHMS
    from shadowsim_policies.sb3.persistence import save_agent

    env = make_env(0)
    model = PPO("MultiInputPolicy", env, n_steps=16, batch_size=16, seed=0, device="cpu",
                policy_kwargs={"net_arch": [16]})
    model.learn(16)
    algorithm = ALGORITHMS.get("ppo")
    hyper = algorithm.hyperparameters({"n_steps": 16, "batch_size": 16, "net_arch": [16]})
    save_agent(model, algorithm, hyper, tmp_path / "agent")
    agent = load_agent(tmp_path / "agent").bind(env)
    for obs in observations(env):
        expected, _ = model.predict(obs, deterministic=True)
        got, _ = agent.predict(obs)
        np.testing.assert_array_equal(got, expected)


def test_agent_runs_an_episode_like_a_baseline(tmp_path):
    agent = load_agent(train("ppo", tmp_path).agent_dir)
    env = make_env(0)
    result = run_episode(env, agent.bind(env), seed=0)
    assert result.n_steps == 24
    assert agent.action_mode is ActionMode.DISCRETE


def test_dqn_uses_joint_actions_where_they_fit(tmp_path):
    one_app = partial(make_env, n_apps=1)
    agent = load_agent(train("dqn", tmp_path, factory=one_app).agent_dir)
    env = one_app(0)
    agent.bind(env)
    action, _ = agent.predict(observations(env, 1)[0])
    assert action.shape == env.action_space.shape
    assert env.action_space.contains(action)


def test_dqn_refuses_a_space_that_does_not_fit():
    with pytest.raises(ActionError, match=r"390,625 joint actions.*ppo, a2c or recurrent_ppo"):
        JointDiscreteActions(make_env(0, n_apps=2))
    with pytest.raises(ActionError, match="DISCRETE action mode"):
        JointDiscreteActions(make_env(0, n_apps=1, mode=ActionMode.CONTINUOUS))


def test_tampered_artifacts_raise_clear_errors(tmp_path):
    directory = train("ppo", tmp_path).agent_dir
    meta_path = directory / "agent.json"
    meta = json.loads(meta_path.read_text())

    meta_path.write_text(json.dumps(dict(meta, observation_version="0")))
    with pytest.raises(ObservationVersionError, match=r"observation version '0'.*retrain"):
        load_agent(directory)

    meta_path.write_text(json.dumps(dict(meta, algorithm="ppoo")))
    with pytest.raises(UnknownNameError, match="Did you mean 'ppo'"):
        load_agent(directory)

    hyper = dict(meta["hyperparameters"], gamma=1.5)
    meta_path.write_text(json.dumps(dict(meta, hyperparameters=hyper)))
    with pytest.raises(ArtifactError, match=r"agent\.json: config key 'hyperparameters\.gamma'"):
        load_agent(directory)

    meta_path.write_text(json.dumps(dict(meta, format_version=99)))
    with pytest.raises(ArtifactError, match="format_version 99"):
        load_agent(directory)

    meta_path.write_text("{not json")
    with pytest.raises(ArtifactError, match="line 1, column 2"):
        load_agent(directory)

    meta_path.write_text(json.dumps(meta))
    weights = directory / "policy.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[-1] ^= 0xFF
    weights.write_bytes(bytes(blob))
    with pytest.raises(ArtifactError, match="SHA-256"):
        load_agent(directory)

    with pytest.raises(ArtifactError, match="no saved agent"):
        load_agent(tmp_path / "nowhere")


def test_agent_refuses_an_env_with_other_spaces(tmp_path):
    agent = load_agent(train("ppo", tmp_path).agent_dir)
    with pytest.raises(PolicyError, match="observation space"):
        agent.bind(make_env(0, n_apps=3))
    with pytest.raises(PolicyError, match="action space"):
        agent.bind(make_env(0, mode=ActionMode.CONTINUOUS))


def test_train_config_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"train\.algorithm.*Did you mean 'ppo'"):
        TrainConfig(algorithm="ppo2")
    unknown = r"train\.hyperparameters\.n_step.*Did you mean 'n_steps'"
    with pytest.raises(ConfigError, match=unknown):
        train_agent(make_env, TrainConfig(hyperparameters={"n_step": 4}), "unused")
