"""Per-application training: the split of spaces, the rewards, the vector env and the agent."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from shadowsim.engine.action_codec import ActionConfig, ActionMode, ControlSource
from shadowsim.engine.engine_config import EngineConfig
from shadowsim.errors import ConfigError
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_envs.env_config import EnvConfig
from shadowsim_envs.rollout import run_episode
from shadowsim_policies import PolicyError
from shadowsim_policies.sb3 import load_agent
from shadowsim_policies.sb3.app_rewards import AppRewards
from shadowsim_policies.sb3.app_split import AppSplit
from shadowsim_policies.sb3.common import TrainConfig, train_agent
from shadowsim_policies.sb3.per_app_vec_env import PerAppVecEnv

DAY = 288


def make_env(
    index: int = 0,
    n_apps: int = 3,
    mode: ActionMode = ActionMode.DISCRETE,
    shift: bool = False,
    pool: bool = False,
) -> ClusterEnv:
    workload = SyntheticGenerator(SyntheticConfig(seed=4, n_apps=n_apps, n_ticks=3 * DAY)).load()
    action = ActionConfig(
        mode=mode,
        shift_control=ControlSource.POLICY if shift else ControlSource.AUTO,
        pool_control=ControlSource.POLICY if pool else ControlSource.AUTO,
    )
    config = EnvConfig(
        episode_ticks=6, test_window_s=DAY * 300.0 / 4, seed=index,
        engine=EngineConfig(action=action),
    )
    return ClusterEnv(workload, config=config)


@pytest.mark.parametrize("mode", [ActionMode.DISCRETE, ActionMode.CONTINUOUS])
def test_split_and_merge_are_inverse(mode):
    env = make_env(shift=True, mode=mode)
    split = AppSplit(env.observation_space, env.action_space)
    assert split.app_action_space.shape == (5,)
    obs, _ = env.reset(seed=0)
    rows = split.split(obs)
    for i in range(3):
        one = {k: v[i] for k, v in rows.items()}
        assert split.app_observation_space.contains(one)
        np.testing.assert_array_equal(one["usage"][0], obs["usage"][i])
        np.testing.assert_array_equal(one["hosts"], obs["hosts"])
    env.action_space.seed(1)
    full = np.stack([env.action_space.sample() for _ in range(2)])
    per_app = np.concatenate(
        [np.concatenate([f[:12].reshape(3, 4), f[12:, None]], axis=1) for f in full]
    )
    assert all(split.app_action_space.contains(a) for a in per_app)
    np.testing.assert_array_equal(split.merge(per_app), full)
    np.testing.assert_array_equal(split.merge(per_app[:3], batched=False), full[0])
    batch = {k: np.stack([v, v]) for k, v in obs.items()}
    assert split.is_batched(batch)
    assert not split.is_batched(obs)
    assert split.split(batch)["usage"].shape == (6, 1, 12, 4)


def test_split_refuses_a_policy_controlled_pool():
    env = make_env(pool=True)
    with pytest.raises(PolicyError, match="pool_control=AUTO"):
        AppSplit(env.observation_space, env.action_space)


def test_app_rewards_split_the_env_reward():
    env = make_env()
    rewards = AppRewards(env)
    env.reset(seed=2)
    env.action_space.seed(2)
    prices = env.cluster.prices.per_unit_s()
    spread = []
    for _ in range(6):
        _, reward, _, _, info = env.step(env.action_space.sample())
        per_app = rewards(info)
        assert per_app.shape == (3,)
        assert per_app.mean() == pytest.approx(reward, rel=1e-9, abs=1e-12)
        state, spec = env.last_state, env.engine.spec
        cost = np.bincount(spec.component_app, weights=state.allocation @ prices, minlength=3)
        violated = np.asarray(state.kpis.sla_violated, dtype=bool)
        terms = info["reward_terms"]
        expected_cost = 3 * terms["cost"] * cost / cost.sum()
        shared = terms["migration"] + terms["pool"]
        # applications without a violation pay only their cost share and the shared terms
        np.testing.assert_allclose(
            -per_app[~violated], expected_cost[~violated] + shared, rtol=1e-9
        )
        spread.append(np.ptp(per_app))
    assert max(spread) > 0  # applications do get different rewards


def test_per_app_vec_env_steps_every_application_and_resets_together():
    envs = [make_env(0), make_env(1)]
    venv = PerAppVecEnv(envs)
    assert venv.num_envs == 6
    venv.seed(7)
    first = venv.reset()
    again = PerAppVecEnv([make_env(0), make_env(1)])
    again.seed(7)
    for key, value in again.reset().items():
        np.testing.assert_array_equal(value, first[key])
    venv.action_space.seed(0)
    for step in range(6):
        actions = np.stack([venv.action_space.sample() for _ in range(6)])
        obs, rewards, dones, infos = venv.step(actions)
        assert obs["usage"].shape == (6, 1, 12, 4)
        assert rewards.shape == (6,)
        assert [i["cluster_reward"] for i in infos if "cluster_reward" in i] == pytest.approx(
            [rewards[:3].mean(), rewards[3:].mean()]
        )
        assert dones.all() == (step == 5)
    assert all(info["TimeLimit.truncated"] for info in infos)
    assert infos[4]["terminal_observation"]["usage"].shape == (1, 12, 4)
    assert venv.get_attr("interval_s", [0, 4]) == [300.0, 300.0]
    assert venv.env_method("get_wrapper_attr", "test_ticks", indices=[5])[0] == envs[1].test_ticks


def test_per_app_ppo_trains_saves_and_acts_on_the_whole_env(tmp_path):
    torch.set_num_threads(1)
    config = TrainConfig(
        algorithm="ppo", policy="app_set", per_app=True, total_timesteps=12, eval_every=6,
        checkpoint_every=6, progress_bar=False,
        hyperparameters={"n_steps": 6, "batch_size": 9, "n_epochs": 1, "net_arch": [8]},
    )
    result = train_agent(make_env, config, tmp_path / "agent")
    assert result.timesteps == 12  # env steps, not application-steps
    assert [p.name for p in result.checkpoints] == ["step_6", "step_12"]
    assert [step for step, _, _ in result.evaluations] == [6, 12]
    meta = json.loads((result.agent_dir / "agent.json").read_text())
    assert meta["per_app"] is True
    assert meta["training"]["timesteps"] == 12
    assert meta["observation_space"]["spaces"]["usage"]["shape"] == [1, 12, 4]
    assert meta["env_observation_space"]["spaces"]["usage"]["shape"] == [3, 12, 4]
    agent = load_agent(result.agent_dir)
    twin = load_agent(result.agent_dir)
    env = make_env(0)
    agent.bind(env)
    twin.bind(env)
    obs, _ = env.reset(seed=0)
    for _ in range(3):
        action, _ = agent.predict(obs)
        assert env.action_space.contains(action)
        np.testing.assert_array_equal(action, twin.predict(obs)[0])
        obs, *_ = env.step(action)
    assert run_episode(env, agent, seed=1).n_steps == 6
    with pytest.raises(PolicyError, match="observation space"):
        agent.bind(make_env(0, n_apps=4))


def test_per_app_minibatches_divide_the_rollout_unless_chosen(tmp_path, caplog):
    """200 steps x 3 applications = 600 samples: the default 400 becomes 300 (logged, saved)."""
    torch.set_num_threads(1)
    hyper = {"n_steps": 200, "n_epochs": 1, "net_arch": [8]}
    config = TrainConfig(
        algorithm="ppo", per_app=True, total_timesteps=200, eval_every=0, checkpoint_every=0,
        progress_bar=False, hyperparameters=hyper,
    )
    with caplog.at_level("INFO", logger="shadowsim_policies.sb3.common"), warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*truncated mini-batch")
        result = train_agent(make_env, config, tmp_path / "fitted")
    meta = json.loads((result.agent_dir / "agent.json").read_text())
    assert meta["hyperparameters"]["batch_size"] == 300
    assert "batch_size 400 -> 300: a divisor of the rollout (200 steps x 3 envs" in caplog.text
    chosen = TrainConfig(**{**config.__dict__, "hyperparameters": {**hyper, "batch_size": 400}})
    with pytest.warns(UserWarning, match="truncated mini-batch of size 200"):  # SB3's, as chosen
        result = train_agent(make_env, chosen, tmp_path / "chosen")
    meta = json.loads((result.agent_dir / "agent.json").read_text())
    assert meta["hyperparameters"]["batch_size"] == 400


def test_per_app_config_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"train\.per_app.*ppo and a2c"):
        TrainConfig(algorithm="recurrent_ppo", per_app=True)
    with pytest.raises(ConfigError, match=r"train\.per_app.*ppo and a2c"):
        TrainConfig(algorithm="dqn", per_app=True)
    with pytest.raises(ConfigError, match=r"train\.per_app.*vec_env=dummy"):
        TrainConfig(per_app=True, vec_env="subproc", n_envs=2)
