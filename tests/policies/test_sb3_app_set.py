"""The application-set policy: layout, features, order invariance, training and round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from gymnasium import spaces

from shadowsim.engine.action_codec import ActionConfig, ActionMode, ControlSource
from shadowsim.engine.engine_config import EngineConfig
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_envs.env_config import EnvConfig
from shadowsim_policies import PolicyError
from shadowsim_policies.sb3 import load_agent
from shadowsim_policies.sb3.app_set_features import AppSetFeatures
from shadowsim_policies.sb3.app_set_policy import (
    ActionLayout,
    AppSetActorCriticPolicy,
    action_layout,
)
from shadowsim_policies.sb3.common import TrainConfig, train_agent
from shadowsim_policies.sb3.multi_categorical import GroupedMultiCategoricalDistribution

DAY = 288


def make_env(
    index: int = 0,
    n_apps: int = 4,
    mode: ActionMode = ActionMode.DISCRETE,
    pool: bool = False,
    shift: bool = False,
) -> ClusterEnv:
    workload = SyntheticGenerator(SyntheticConfig(seed=2, n_apps=n_apps, n_ticks=3 * DAY)).load()
    action = ActionConfig(
        mode=mode,
        pool_control=ControlSource.POLICY if pool else ControlSource.AUTO,
        shift_control=ControlSource.POLICY if shift else ControlSource.AUTO,
    )
    config = EnvConfig(
        episode_ticks=16, test_window_s=DAY * 300.0 / 4, seed=index,
        engine=EngineConfig(action=action),
    )
    return ClusterEnv(workload, config=config)


def policy_for(env: ClusterEnv, **kwargs) -> AppSetActorCriticPolicy:
    torch.manual_seed(0)
    kwargs.setdefault("net_arch", [16, 8])
    return AppSetActorCriticPolicy(
        env.observation_space, env.action_space, lambda _: 1e-3, **kwargs
    )


def batch(obs: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(v)[None] for k, v in obs.items()}


@pytest.mark.parametrize(
    ("nvec", "n_apps", "expected"),
    [
        ([5] * 12, 3, ActionLayout(3, 5, 0, 0)),
        ([5] * 12 + [4], 3, ActionLayout(3, 5, 4, 0)),
        ([5] * 12 + [2] * 3, 3, ActionLayout(3, 5, 0, 2)),
        ([5] * 12 + [4] + [2] * 3, 3, ActionLayout(3, 5, 4, 2)),
        ([3] * 4 + [4], 1, ActionLayout(1, 3, 4, 0)),
        ([3] * 4 + [4, 2], 1, ActionLayout(1, 3, 4, 2)),
    ],
)
def test_action_layout_reads_the_env_layout(nvec, n_apps, expected):
    layout = action_layout(spaces.MultiDiscrete(nvec), n_apps)
    assert layout == expected
    assert layout.total == sum(nvec)
    box = action_layout(spaces.Box(0.0, 1.0, (len(nvec),), np.float32), n_apps)
    assert box.total == len(nvec)


@pytest.mark.parametrize(
    ("space", "match"),
    [
        (spaces.MultiDiscrete([5] * 11), "does not have the env's layout for 3 applications"),
        (spaces.MultiDiscrete([5] * 12 + [2, 2]), "does not have the env's layout"),
        (spaces.MultiDiscrete([5] * 11 + [4]), "does not have the env's layout"),
        (spaces.MultiDiscrete([5] * 12 + [2, 3, 2]), "shift entries .* differ in size"),
        (spaces.Discrete(5), "flat MultiDiscrete .* or Box"),
    ],
)
def test_action_layout_refuses_other_spaces(space, match):
    with pytest.raises(PolicyError, match=match):
        action_layout(space, 3)


def test_features_hold_the_log_ratios_to_pending():
    env = make_env()
    obs, _ = env.reset(seed=0)
    obs = {k: v.copy() for k, v in obs.items()}
    obs["pending"][:] = 2.0
    obs["allocation"][:] = 1.0
    obs["forecast"][:] = 4.0
    obs["usage"][:, -1, :] = 0.5
    extractor = AppSetFeatures(env.observation_space)
    rows = extractor.app_features(batch(obs))
    assert rows.shape == (1, 4, extractor.app_dim)
    w, per_lead = extractor.window, extractor.n_leads * 4 * extractor.n_quantiles
    start = 4 * w + per_lead + 8
    ratios = rows[0, :, start:start + per_lead + 8]
    def full(n: int, ratio: float) -> torch.Tensor:
        return torch.full((4, n), float(np.log(ratio)))

    torch.testing.assert_close(ratios[:, :per_lead], full(per_lead, 2.0))  # forecast / pending
    torch.testing.assert_close(ratios[:, per_lead:per_lead + 4], full(4, 0.25))  # usage / pending
    torch.testing.assert_close(ratios[:, per_lead + 4:], full(4, 0.5))  # allocation / pending
    flat = extractor(batch(obs))
    assert flat.shape == (1, extractor.features_dim)


def test_policy_is_invariant_to_the_order_of_the_applications():
    env = make_env(pool=True, shift=True)
    policy = policy_for(env)
    assert isinstance(policy.action_dist, GroupedMultiCategoricalDistribution)
    obs, _ = env.reset(seed=1)
    for _ in range(3):
        obs, *_ = env.step(env.action_space.sample())
    order = np.array([2, 0, 3, 1])
    permuted = {
        k: (v[order] if k in ("usage", "forecast", "allocation", "pending", "kpi",
                              "forecast_error", "priority", "ref_log") else v)
        for k, v in obs.items()
    }
    def logits_of(o: dict[str, np.ndarray]) -> torch.Tensor:
        latent = policy.mlp_extractor.forward_actor(policy.extract_features(batch(o)))
        return policy.action_net(latent)

    with torch.no_grad():
        logits, logits_p = logits_of(obs), logits_of(permuted)
        value = policy.predict_values(batch(obs))
        value_p = policy.predict_values(batch(permuted))
    scale = logits[0, :80].reshape(4, 20)
    scale_p = logits_p[0, :80].reshape(4, 20)
    torch.testing.assert_close(scale_p, scale[order])
    torch.testing.assert_close(logits_p[0, 80:84], logits[0, 80:84])  # pool: order-free
    torch.testing.assert_close(logits_p[0, 84:].reshape(4, 2), logits[0, 84:].reshape(4, 2)[order])
    torch.testing.assert_close(value_p, value)
    assert not torch.allclose(scale[0], scale[1])  # applications do get their own logits


def test_policy_refuses_what_it_cannot_build():
    env = make_env()
    with pytest.raises(PolicyError, match="gSDE"):
        policy_for(env, use_sde=True)
    with pytest.raises(PolicyError, match="at least one encoder and one critic layer"):
        policy_for(env, net_arch={"pi": [8], "vf": []})
    no_time = spaces.Dict({k: v for k, v in env.observation_space.spaces.items() if k != "time"})
    with pytest.raises(PolicyError, match=r"missing \['time'\]"):
        AppSetActorCriticPolicy(no_time, env.action_space, lambda _: 1e-3)


@pytest.mark.parametrize("mode", [ActionMode.DISCRETE, ActionMode.CONTINUOUS])
def test_ppo_trains_the_app_set_policy_and_reloads_it(mode, tmp_path):
    torch.set_num_threads(1)

    def factory(i: int) -> ClusterEnv:
        return make_env(i, mode=mode)

    config = TrainConfig(
        algorithm="ppo", policy="app_set", total_timesteps=32, progress_bar=False,
        hyperparameters={"n_steps": 16, "batch_size": 16, "n_epochs": 2, "net_arch": [16]},
    )
    result = train_agent(factory, config, tmp_path / "agent")
    meta = json.loads((result.agent_dir / "agent.json").read_text())
    assert meta["policy_class"] == "app_set"
    agent = load_agent(result.agent_dir)
    assert type(agent.policy) is AppSetActorCriticPolicy
    env = factory(0)
    agent.bind(env)
    first = load_agent(result.agent_dir).bind(env)
    obs, _ = env.reset(seed=3)
    for _ in range(4):
        a, _ = agent.predict(obs)
        b, _ = first.predict(obs)
        np.testing.assert_array_equal(a, b)
        assert env.action_space.contains(a)
        obs, *_ = env.step(a)
