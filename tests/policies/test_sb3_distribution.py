"""The vectorised multi-categorical distribution against SB3's, and the policies using it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from stable_baselines3.common.distributions import (
    DiagGaussianDistribution,
    MultiCategoricalDistribution,
)
from stable_baselines3.common.policies import MultiInputActorCriticPolicy

from shadowsim.engine.action_codec import ActionConfig, ActionMode, ControlSource
from shadowsim.engine.engine_config import EngineConfig
from shadowsim.errors import ActionError
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_envs.env_config import EnvConfig
from shadowsim_policies.sb3.grouped_policy import GroupedMultiInputActorCriticPolicy
from shadowsim_policies.sb3.multi_categorical import (
    GroupedMultiCategoricalDistribution,
    Segment,
    segments_of,
)

# 3 apps x 4 resources with 5 scale steps, one pool entry (4 levels), 3 shift entries.
NVEC = [5] * 12 + [4] + [2] * 3


def pair(nvec: list[int], logits: torch.Tensor):
    grouped = GroupedMultiCategoricalDistribution(nvec).proba_distribution(logits)
    reference = MultiCategoricalDistribution(nvec).proba_distribution(logits)
    return grouped, reference


def test_segments_group_runs_of_equal_sizes():
    assert segments_of(NVEC) == (
        Segment(first_dim=0, n_dims=12, n_choices=5, first_logit=0),
        Segment(first_dim=12, n_dims=1, n_choices=4, first_logit=60),
        Segment(first_dim=13, n_dims=3, n_choices=2, first_logit=64),
    )
    assert segments_of([3, 3, 2, 3]) == (
        Segment(0, 2, 3, 0), Segment(2, 1, 2, 6), Segment(3, 1, 3, 8),
    )


@given(st.lists(st.integers(1, 6), min_size=1, max_size=30))
def test_segments_cover_every_dimension_and_logit_once(nvec):
    segs = segments_of(nvec)
    dims = [d for s in segs for d in range(s.first_dim, s.first_dim + s.n_dims)]
    assert dims == list(range(len(nvec)))
    assert [nvec[d] for s in segs for d in range(s.dims.start, s.dims.stop)] == nvec
    assert all(nvec[d] == s.n_choices for s in segs for d in range(s.dims.start, s.dims.stop))
    assert segs[-1].logits.stop == sum(nvec)
    assert all(a.logits.stop == b.first_logit for a, b in itertools.pairwise(segs))


def test_bad_dimensions_and_logits_raise_clear_errors():
    with pytest.raises(ActionError, match="at least one action dimension"):
        segments_of([])
    with pytest.raises(ActionError, match=">= 1 choice"):
        segments_of([5, 0])
    with pytest.raises(ActionError, match=r"shape \(batch, 70\); got \(2, 75\)"):
        GroupedMultiCategoricalDistribution(NVEC).proba_distribution(torch.zeros(2, 75))


@settings(max_examples=25, deadline=None)
@given(
    nvec=st.lists(st.integers(1, 6), min_size=1, max_size=24),
    batch=st.integers(1, 9),
    seed=st.integers(0, 2**31 - 1),
    scale=st.floats(0.1, 8.0),
)
def test_log_prob_entropy_and_mode_equal_sb3s(nvec, batch, seed, scale):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, sum(nvec), generator=gen, dtype=torch.float64) * scale
    grouped, reference = pair(nvec, logits)
    actions = torch.stack(
        [torch.randint(0, n, (batch,), generator=gen) for n in nvec], dim=1
    )
    torch.testing.assert_close(grouped.log_prob(actions), reference.log_prob(actions))
    # SB3's rollout buffer hands actions back as floats
    torch.testing.assert_close(grouped.log_prob(actions.double()), reference.log_prob(actions))
    torch.testing.assert_close(grouped.entropy(), reference.entropy())
    assert torch.equal(grouped.mode(), reference.mode())
    assert grouped.log_prob(actions).shape == grouped.entropy().shape == (batch,)


def test_samples_follow_sb3s_probabilities():
    torch.manual_seed(0)
    logits = torch.randn(1, sum(NVEC)) * 2.0
    n = 20_000
    grouped, reference = pair(NVEC, logits.expand(n, -1))
    draws = grouped.sample()
    assert draws.shape == (n, len(NVEC))
    assert draws.dtype == torch.int64
    for dim, (k, dist) in enumerate(zip(NVEC, reference.distribution, strict=True)):
        counts = torch.bincount(draws[:, dim], minlength=k)
        assert counts.numel() == k  # never outside 0..k-1
        expected = dist.probs[0] * n  # every row has the same probabilities
        # chi-square statistic: k - 1 degrees of freedom, 99.99th percentile < 25
        chi2 = float(((counts - expected) ** 2 / expected).sum())
        assert chi2 < 25.0, (dim, counts.tolist(), expected.tolist())
    # the sampled actions are scored like SB3 scores them
    torch.testing.assert_close(grouped.log_prob(draws), reference.log_prob(draws))


def test_actions_from_params_samples_or_takes_the_mode():
    logits = torch.randn(4, sum(NVEC))
    dist = GroupedMultiCategoricalDistribution(NVEC)
    mode = dist.actions_from_params(logits, deterministic=True)
    assert torch.equal(mode, MultiCategoricalDistribution(NVEC).proba_distribution(logits).mode())
    actions, log_prob = dist.log_prob_from_params(logits)
    assert actions.shape == (4, len(NVEC))
    torch.testing.assert_close(log_prob, dist.log_prob(actions))


def small_env(mode: ActionMode = ActionMode.DISCRETE, policy_controls: bool = True) -> ClusterEnv:
    workload = SyntheticGenerator(SyntheticConfig(seed=1, n_apps=3, n_ticks=3 * 288)).load()
    source = ControlSource.POLICY if policy_controls else ControlSource.AUTO
    action = ActionConfig(mode=mode, pool_control=source, shift_control=source)
    config = EnvConfig(
        episode_ticks=8, test_window_s=288 * 300.0 / 4, engine=EngineConfig(action=action)
    )
    return ClusterEnv(workload, config=config)


def build(cls, env: ClusterEnv):
    torch.manual_seed(0)
    return cls(env.observation_space, env.action_space, lambda _: 3e-4, net_arch=[16])


def test_grouped_policy_equals_sb3s_policy_with_the_same_weights():
    env = small_env()
    assert env.action_space.nvec.tolist() == NVEC
    grouped = build(GroupedMultiInputActorCriticPolicy, env)
    reference = build(MultiInputActorCriticPolicy, env)
    assert isinstance(grouped.action_dist, GroupedMultiCategoricalDistribution)
    assert type(reference.action_dist) is MultiCategoricalDistribution
    assert {k: v.shape for k, v in grouped.state_dict().items()} == {
        k: v.shape for k, v in reference.state_dict().items()
    }
    grouped.load_state_dict(reference.state_dict())
    obs, _ = env.reset(seed=3)
    env.action_space.seed(3)
    batch = {k: torch.as_tensor(np.stack([v, v * 0.5])) for k, v in obs.items()}
    actions = torch.as_tensor(np.stack([env.action_space.sample() for _ in range(2)]))
    with torch.no_grad():
        values_g, log_prob_g, entropy_g = grouped.evaluate_actions(batch, actions.float())
        values_r, log_prob_r, entropy_r = reference.evaluate_actions(batch, actions.float())
    torch.testing.assert_close(values_g, values_r)
    torch.testing.assert_close(log_prob_g, log_prob_r)
    torch.testing.assert_close(entropy_g, entropy_r)
    act_g, _ = grouped.predict(obs, deterministic=True)
    act_r, _ = reference.predict(obs, deterministic=True)
    np.testing.assert_array_equal(act_g, act_r)
    sampled, _ = grouped.predict(obs, deterministic=False)
    assert env.action_space.contains(sampled)


def test_grouped_policy_leaves_box_actions_to_sb3():
    env = small_env(ActionMode.CONTINUOUS)
    policy = build(GroupedMultiInputActorCriticPolicy, env)
    assert type(policy.action_dist) is DiagGaussianDistribution
    obs, _ = env.reset(seed=0)
    action, _ = policy.predict(obs)
    assert action.shape == env.action_space.shape

