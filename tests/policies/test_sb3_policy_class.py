"""Saved agents record their policy class; loading rebuilds exactly that class."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sb3_contrib.common.recurrent.policies import RecurrentMultiInputActorCriticPolicy
from stable_baselines3.common.policies import MultiInputActorCriticPolicy

from shadowsim.errors import ArtifactError, ConfigError, UnknownNameError
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_envs.env_config import EnvConfig
from shadowsim_policies.sb3 import load_agent
from shadowsim_policies.sb3.algorithm import ALGORITHMS
from shadowsim_policies.sb3.app_set_policy import AppSetActorCriticPolicy
from shadowsim_policies.sb3.common import TrainConfig, train_agent
from shadowsim_policies.sb3.grouped_policy import (
    GroupedMultiInputActorCriticPolicy,
    GroupedRecurrentMultiInputActorCriticPolicy,
)
from shadowsim_policies.sb3.multi_categorical import GroupedMultiCategoricalDistribution
from shadowsim_policies.sb3.policy_classes import POLICY_CLASSES, policy_class_name

DAY = 288
HYPER = {"n_steps": 16, "batch_size": 16, "n_epochs": 1, "net_arch": [16]}


def make_env(index: int) -> ClusterEnv:
    workload = SyntheticGenerator(SyntheticConfig(seed=1, n_apps=2, n_ticks=3 * DAY)).load()
    config = EnvConfig(episode_ticks=24, test_window_s=DAY * 300.0 / 4, seed=index)
    return ClusterEnv(workload, config=config)


def train(tmp_path, algorithm: str = "ppo", policy: str | None = None, **hyper):
    torch.set_num_threads(1)
    config = TrainConfig(
        algorithm=algorithm, policy=policy, total_timesteps=16, progress_bar=False,
        hyperparameters=dict(HYPER, **hyper),
    )
    return train_agent(make_env, config, tmp_path / f"{algorithm}_{policy}").agent_dir


def actions(agent, n: int = 4) -> list[np.ndarray]:
    env = make_env(0)
    agent.bind(env)
    obs, _ = env.reset(seed=5)
    out = []
    for i in range(n):
        action, _ = agent.predict(obs, episode_start=np.array([i == 0]))
        out.append(action)
        obs, *_ = env.step(action)
    return out


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(None, AppSetActorCriticPolicy), ("grouped_multi_input", GroupedMultiInputActorCriticPolicy)],
)
def test_ppo_trains_and_reloads_its_vectorised_policies(tmp_path, policy, expected):
    directory = train(tmp_path, policy=policy)
    meta = json.loads((directory / "agent.json").read_text())
    assert meta["policy_class"] == policy_class_name(expected.__new__(expected))
    assert meta["format_version"] == 2
    agent = load_agent(directory)
    assert type(agent.policy) is expected
    assert isinstance(agent.policy.action_dist, GroupedMultiCategoricalDistribution)


def test_sb3_policy_on_request_and_format_1_agents_load_as_sb3s(tmp_path):
    directory = train(tmp_path, policy="multi_input")
    meta = json.loads((directory / "agent.json").read_text())
    assert meta["policy_class"] == "multi_input"
    agent = load_agent(directory)
    assert type(agent.policy) is MultiInputActorCriticPolicy
    expected = actions(agent)
    # an agent saved before the policy class was recorded
    legacy = dict(meta, format_version=1)
    del legacy["policy_class"]
    (directory / "agent.json").write_text(json.dumps(legacy))
    old = load_agent(directory)
    assert type(old.policy) is MultiInputActorCriticPolicy
    for got, want in zip(actions(old), expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_recurrent_ppo_uses_the_grouped_recurrent_policy(tmp_path):
    directory = train(tmp_path, "recurrent_ppo", lstm_hidden_size=8)
    agent = load_agent(directory)
    assert type(agent.policy) is GroupedRecurrentMultiInputActorCriticPolicy
    assert isinstance(agent.policy.action_dist, GroupedMultiCategoricalDistribution)
    assert len(actions(agent)) == 4


def test_policy_class_errors_are_clear(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.policy.*Did you mean 'multi_input'"):
        TrainConfig(policy="multi_inpt")
    with pytest.raises(ConfigError, match=r"train\.policy.*'dqn_multi_input'"):
        TrainConfig(algorithm="ppo", policy="dqn_multi_input")
    directory = train(tmp_path)
    path = directory / "agent.json"
    meta = json.loads(path.read_text())
    path.write_text(json.dumps(dict(meta, policy_class="grouped_multi_inptu")))
    with pytest.raises(UnknownNameError, match="Did you mean 'grouped_multi_input'"):
        load_agent(directory)
    path.write_text(json.dumps(dict(meta, policy_class="recurrent_multi_input")))
    with pytest.raises(ArtifactError, match="'recurrent_multi_input' is not a policy class of"):
        load_agent(directory)
    del meta["policy_class"]
    path.write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match=r"lacks \['policy_class'\]"):
        load_agent(directory)


def test_every_catalogued_class_is_named_back_and_others_are_refused():
    for name in POLICY_CLASSES:
        cls = POLICY_CLASSES.get(name)
        assert policy_class_name(cls.__new__(cls)) == name
    assert POLICY_CLASSES.get("recurrent_multi_input") is RecurrentMultiInputActorCriticPolicy

    class Custom(MultiInputActorCriticPolicy):
        pass

    with pytest.raises(ArtifactError, match=r"cannot save a policy of class .*Custom"):
        policy_class_name(Custom.__new__(Custom))


def test_per_app_defaults_fill_only_what_is_not_given():
    ppo = ALGORITHMS.get("ppo")
    hyper = ppo.hyperparameters({"n_steps": 8}, per_app=True)
    assert (hyper.n_steps, hyper.batch_size, hyper.n_epochs) == (8, 400, 5)
    assert hyper.net_arch == (64, 64)
    plain = ppo.hyperparameters({"n_steps": 8})
    assert (plain.batch_size, plain.net_arch) == (64, (128, 128))


@pytest.mark.parametrize(
    ("batch", "rollout", "expected"),
    [(400, 1600, 400), (400, 960, 480), (400, 96, 96), (64, 256, 64), (400, 30 * 32 * 3, 360),
     (100, 7 * 32, 112), (5, 7, 7), (2, 2, 2)],
)
def test_minibatch_dividing_the_rollout(batch: int, rollout: int, expected: int) -> None:
    from shadowsim_policies.sb3.hyperparameters import minibatch_dividing

    fitted = minibatch_dividing(batch, rollout)
    assert fitted == expected
    assert rollout % fitted == 0
