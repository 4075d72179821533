"""Bad policy configs, observations, spaces and tampered agents give errors naming the culprit."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from gymnasium import spaces

from shadowsim.engine.action_codec import ActionConfig, ActionMode
from shadowsim.engine.engine_config import EngineConfig
from shadowsim.errors import ArtifactError, ConfigError, ShadowSimError
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_envs.env_config import EnvConfig
from shadowsim_policies import PolicyError, make_policy
from shadowsim_policies.evaluation import mean_metrics
from shadowsim_policies.observation_view import ObservationError
from shadowsim_policies.sb3 import SB3Agent, load_agent
from shadowsim_policies.sb3.algorithm import ALGORITHMS
from shadowsim_policies.sb3.app_rewards import AppRewards
from shadowsim_policies.sb3.app_set_features import AppSetFeatures
from shadowsim_policies.sb3.app_split import AppSplit
from shadowsim_policies.sb3.common import TrainConfig
from shadowsim_policies.sb3.per_app_vec_env import PerAppVecEnv
from shadowsim_policies.sb3.persistence import save_agent
from shadowsim_policies.sb3.space_json import space_to_json
from shadowsim_policies.target_policy import TargetPolicy
from shadowsim_policies.vpa import VpaConfig

DAY = 288


def make_env(n_apps: int = 2, seed: int = 0) -> ClusterEnv:
    workload = SyntheticGenerator(SyntheticConfig(seed=1, n_apps=n_apps, n_ticks=3 * DAY)).load()
    config = EnvConfig(
        episode_ticks=6, test_window_s=DAY * 300.0 / 4, seed=seed,
        engine=EngineConfig(action=ActionConfig(mode=ActionMode.DISCRETE)),
    )
    return ClusterEnv(workload, config=config)


# ---------------------------------------------------------------- policy configs


def test_config_and_keyword_values_together_are_refused():
    with pytest.raises(ConfigError, match=r"'policy': pass either a VpaConfig or keyword values"):
        make_policy("vpa", config=VpaConfig(), safety_margin=0.2)


def test_config_of_another_policy_is_refused():
    from shadowsim_policies.hpa import HpaConfig

    with pytest.raises(ConfigError, match=r"'policy\.config': expected a VpaConfig, got HpaConfig"):
        make_policy("vpa", config=HpaConfig())


def test_per_resource_value_of_the_wrong_kind_names_the_key():
    with pytest.raises(
        ConfigError, match=r"'policy\.half_life_s': must be a number or a list of 4, got '1h'"
    ):
        make_policy("vpa", half_life_s="1h")


def test_bucket_wider_than_the_histogram_names_the_key():
    env = make_env()
    policy = make_policy("vpa", bucket_first=500.0).bind(env)
    obs, _ = env.reset(seed=0)
    with pytest.raises(ConfigError, match=r"'policy\.bucket_first': must be below the histogram "
                                          r"maximum 100\.0 ref units, got 500\.0"):
        policy.predict(obs)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("big", r"'policy\.headroom': must be a number, 3 numbers or 3 lists of 4, got 'big'"),
        ([0.1, 0.2], r"'policy\.headroom': needs one entry per priority class .*got 2"),
    ],
)
def test_per_priority_resource_shape_names_the_key(value, match):
    with pytest.raises(ConfigError, match=match):
        make_policy("shadow", headroom=value)


def test_selection_list_of_the_wrong_kind_names_the_key():
    with pytest.raises(
        ConfigError, match=r"'policy\.selection\.levels': must be a list of numbers, got 'p90'"
    ):
        make_policy("shadow", selection={"levels": "p90"})


def test_mean_metrics_needs_a_run():
    with pytest.raises(ValueError, match="mean_metrics needs at least one run"):
        mean_metrics([])


# ---------------------------------------------------------------- binding and observations


def test_binding_to_a_foreign_env_names_the_missing_attribute():
    import gymnasium as gym

    with pytest.raises(PolicyError, match=r"cannot bind a policy to CartPoleEnv: it lacks 'codec'"):
        make_policy("hpa").bind(gym.make("CartPole-v1"))


def test_observation_errors_name_the_key(context, obs):
    policy = make_policy("hpa").bind(context(2))
    good = obs(np.ones((2, 4, 4)))
    flat = dict(good, kpi=good["kpi"][:, 0])
    with pytest.raises(ObservationError, match=r"observation\['kpi'\] must have 2 dimensions"):
        policy.predict(flat)
    nan = dict(good, forecast=np.full_like(good["forecast"], np.nan))
    with pytest.raises(ObservationError, match=r"observation\['forecast'\] holds non-finite"):
        policy.predict(nan)


def test_episode_start_length_must_match_the_batch(context, obs):
    policy = make_policy("hpa").bind(context(2))
    single = obs(np.ones((2, 4, 4)))
    batch = {k: np.stack([v, v]) for k, v in single.items()}
    with pytest.raises(PolicyError, match=r"episode_start must have 2 entries, got shape \(3,\)"):
        policy.predict(batch, episode_start=[True, False, True])


class _BadTargets(TargetPolicy[None]):
    name = "bad_targets"

    def __init__(self, targets: np.ndarray) -> None:
        super().__init__()
        self.fixed = targets

    def initial_state(self, view):
        return None

    def decide(self, view, state):
        return self.fixed


def test_custom_policy_targets_are_checked(context, obs):
    observation = obs(np.ones((2, 4, 4)))
    wrong = _BadTargets(np.ones((2, 3))).bind(context(2))
    with pytest.raises(PolicyError, match=r"'bad_targets' produced targets of shape \(2, 3\), "
                                          r"expected \(2, 4\)"):
        wrong.predict(observation)
    nan = _BadTargets(np.full((2, 4), np.nan)).bind(context(2))
    with pytest.raises(PolicyError, match="'bad_targets' produced non-finite targets"):
        nan.predict(observation)


# ---------------------------------------------------------------- per-application training


def test_app_split_refuses_other_observation_spaces():
    env = make_env()
    with pytest.raises(PolicyError, match="needs the env's Dict observation; got Box"):
        AppSplit(spaces.Box(0.0, 1.0, (3,)), env.action_space)
    partial = spaces.Dict({k: v for k, v in env.observation_space.spaces.items() if k != "time"})
    with pytest.raises(PolicyError, match=r"needs exactly the observation keys .*'usage'"):
        AppSplit(partial, env.action_space)
    odd = spaces.Dict(dict(env.observation_space.spaces, time=spaces.Discrete(4)))
    with pytest.raises(PolicyError, match="expected Box observation entries; got Discrete"):
        AppSplit(odd, env.action_space)


def test_app_set_features_refuse_other_observation_spaces():
    env = make_env()
    with pytest.raises(PolicyError, match="application-set policy needs the env's Dict"):
        AppSetFeatures(spaces.Box(0.0, 1.0, (3,)))  # type: ignore[arg-type]
    usage = env.observation_space["usage"]
    other_a = spaces.Box(0.0, 1.0, (3, *usage.shape[1:]), dtype=np.float32)
    with pytest.raises(PolicyError, match="per-application observation keys disagree on A"):
        AppSetFeatures(spaces.Dict(dict(env.observation_space.spaces, usage=other_a)))
    flat = spaces.Box(0.0, 1.0, (usage.shape[0], 4), dtype=np.float32)
    with pytest.raises(PolicyError, match=r"expected usage \(A, W, 4\).*got \(2, 4\)"):
        AppSetFeatures(spaces.Dict(dict(env.observation_space.spaces, usage=flat)))


def test_per_app_vec_env_checks_its_envs():
    with pytest.raises(PolicyError, match="PerAppVecEnv needs at least one cluster env"):
        PerAppVecEnv([])
    with pytest.raises(PolicyError, match="cluster envs of a PerAppVecEnv must have the same"):
        PerAppVecEnv([make_env(n_apps=2), make_env(n_apps=3)])
    venv = PerAppVecEnv([make_env()])
    venv.reset()
    with pytest.raises(PolicyError, match="step_wait called before step_async"):
        venv.step_wait()


def test_app_rewards_need_the_reward_terms():
    env = make_env()
    env.reset(seed=0)
    with pytest.raises(ShadowSimError, match=r"info lacks reward term 'reward_terms'"):
        AppRewards(env)({})


def test_unknown_vec_env_kind_names_the_key():
    with pytest.raises(ConfigError, match=r"'train\.vec_env': unknown vec env kind 'threads'"):
        TrainConfig(vec_env="threads")  # type: ignore[arg-type]


# ---------------------------------------------------------------- saved agents


def test_space_without_a_json_form_is_refused():
    with pytest.raises(ArtifactError, match="cannot describe a Tuple space in JSON"):
        space_to_json(spaces.Tuple((spaces.Discrete(2), spaces.Discrete(3))))


@pytest.fixture(scope="module")
def saved_ppo(tmp_path_factory):
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    env = make_env()
    model = PPO("MultiInputPolicy", env, n_steps=16, batch_size=16, seed=0, device="cpu",
                policy_kwargs={"net_arch": [16]})
    algorithm = ALGORITHMS.get("ppo")
    hyper = algorithm.hyperparameters({"n_steps": 16, "batch_size": 16, "net_arch": [16]})
    return save_agent(model, algorithm, hyper, tmp_path_factory.mktemp("saved") / "agent")


@pytest.fixture
def agent_dir(saved_ppo, tmp_path):
    directory = tmp_path / "agent"
    shutil.copytree(saved_ppo, directory)
    load_agent(directory)  # the untouched copy loads
    return directory


def _rewrite(directory, drop=(), **changes):
    path = directory / "agent.json"
    meta = json.loads(path.read_text())
    meta.update(changes)
    for key in drop:
        del meta[key]
    path.write_text(json.dumps(meta))
    return meta


def test_wrong_format_names_the_file(agent_dir):
    _rewrite(agent_dir, format="pickle")
    with pytest.raises(ArtifactError, match=r"agent\.json: 'format' must be .*got 'pickle'"):
        load_agent(agent_dir)


def test_per_app_agent_without_env_observation_space_names_the_file(agent_dir):
    _rewrite(agent_dir, drop=["env_observation_space"], per_app=True)
    with pytest.raises(ArtifactError,
                       match=r"agent\.json: a per_app agent needs env_observation_space"):
        load_agent(agent_dir)


def test_missing_weights_name_the_file(agent_dir):
    (agent_dir / "policy.safetensors").unlink()
    with pytest.raises(ArtifactError, match=r"policy\.safetensors: weights file missing"):
        load_agent(agent_dir)


def test_weights_of_another_network_name_the_file(agent_dir):
    meta = json.loads((agent_dir / "agent.json").read_text())
    _rewrite(agent_dir, hyperparameters=dict(meta["hyperparameters"], net_arch=[32]))
    with pytest.raises(ArtifactError, match=r"policy\.safetensors: weights do not fit the ppo "
                                            r"network described in agent\.json"):
        load_agent(agent_dir)


@pytest.mark.parametrize(
    ("space", "match"),
    [
        ({"type": "Box", "dtype": "float32"}, r"malformed space description .*'shape'"),
        ({"type": "Tuple", "spaces": []}, r"unknown space type 'Tuple'; known: Box"),
    ],
)
def test_malformed_space_descriptions_are_refused(agent_dir, space, match):
    _rewrite(agent_dir, action_space=space)
    with pytest.raises(ArtifactError, match=match):
        load_agent(agent_dir)


def test_recurrent_agent_marked_per_app_is_refused(tmp_path):
    from sb3_contrib import RecurrentPPO

    torch.set_num_threads(1)
    env = make_env()
    params = {"n_steps": 16, "batch_size": 16, "net_arch": [16], "lstm_hidden_size": 8}
    algorithm = ALGORITHMS.get("recurrent_ppo")
    hyper = algorithm.hyperparameters(params)
    model = RecurrentPPO("MultiInputLstmPolicy", env, n_steps=16, batch_size=16, seed=0,
                         device="cpu", policy_kwargs=hyper.policy_kwargs())
    directory = save_agent(model, algorithm, hyper, tmp_path / "agent")
    meta = json.loads((directory / "agent.json").read_text())
    _rewrite(directory, per_app=True, env_observation_space=meta["observation_space"])
    with pytest.raises(
        ArtifactError, match=r"agent\.json: per_app is true but recurrent_ppo is recurrent"
    ):
        load_agent(directory)
    split = AppSplit(env.observation_space, env.action_space)
    with pytest.raises(PolicyError, match="per-application agents cannot be recurrent"):
        SB3Agent(model.policy, "recurrent_ppo", env.action_space, "1", recurrent=True, split=split)
