"""Every baseline's predict on the spec's observation shapes, and each one's behaviour."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from shadowsim.engine.action_codec import ActionMode
from shadowsim_policies import POLICIES, PolicyError, make_policy
from shadowsim_policies.target_policy import TargetPolicy

BASELINES = [
    "static_peak", "hpa", "vpa", "autopilot_peak", "autopilot_percentile",
    "predictive_scaling", "seed_threshold", "seed_literal", "oracle", "shadow",
]


def usage_of(values, n_apps=2, window=4):
    """``(A, W, 4)`` usage whose last rows are ``values`` (earlier rows repeat the first)."""
    values = list(values)
    rows = [values[0]] * (window - len(values)) + values
    return np.repeat(np.asarray(rows, dtype=float)[None, :, None], n_apps, axis=0).repeat(4, 2)


@pytest.mark.parametrize("mode", list(ActionMode))
@pytest.mark.parametrize("name", BASELINES)
def test_predict_returns_a_member_of_the_action_space(name, mode, context, obs):
    ctx = context(3, mode)
    policy = make_policy(name).bind(ctx)
    rng = np.random.default_rng(0)
    o = obs(rng.uniform(0.2, 1.5, (3, 4, 4)), priority=(0, 1, 2))
    action, _state = policy.predict(o, episode_start=True)
    assert ctx.action_space.contains(action), (name, mode, action)
    # batched: a leading n_envs axis, one state per env
    batch = {k: np.stack([v, v]) for k, v in o.items()}
    actions, states = policy.predict(batch, episode_start=np.array([True, True]))
    assert actions.shape == (2, *ctx.action_space.shape)
    assert len(states) == 2
    np.testing.assert_array_equal(actions[0], action)
    np.testing.assert_array_equal(actions[1], action)
    again, _ = policy.predict(batch, state=states)
    assert again.shape == actions.shape


def test_unbound_policy_and_version_mismatch(context, obs):
    policy = make_policy("hpa")
    with pytest.raises(PolicyError, match=r"bind\(env\)"):
        policy.predict(obs(np.ones((1, 2, 4))))
    from dataclasses import replace

    with pytest.raises(PolicyError, match="version '0'"):
        policy.bind(replace(context(1), observation_version="0"))


def test_hpa_tolerance_and_scale_down_stabilisation(context, obs):
    policy = make_policy("hpa", target_utilization=0.7, stabilization_window_s=300).bind(
        context(1)
    )
    inside, _ = policy.targets(obs(usage_of([0.72], 1)))  # ratio 1.03: inside 0.1
    np.testing.assert_allclose(inside, 1.0)
    targets, state = policy.targets(obs(usage_of([0.9], 1)))  # scale up at once
    np.testing.assert_allclose(targets, 0.9 / 0.7, rtol=1e-6)
    pending = np.full((1, 4), 0.9 / 0.7)
    held, state = policy.targets(obs(usage_of([0.9, 0.35], 1), pending=pending), state)
    np.testing.assert_allclose(held, 0.9 / 0.7, rtol=1e-6)  # drop not yet stable
    down, state = policy.targets(obs(usage_of([0.35, 0.35], 1), pending=pending), state)
    np.testing.assert_allclose(down, 0.5, rtol=1e-6)  # the window now only holds 0.5


def test_hpa_discrete_encodes_nearest_step(context, obs):
    ctx = context(1, ActionMode.DISCRETE)
    policy = make_policy("hpa").bind(ctx)
    action, _ = policy.predict(obs(usage_of([0.9], 1)), episode_start=True)
    factors = ctx.codec.config.scale_factors
    assert [factors[i] for i in action] == [1.25] * 4  # wants 1.29x: the 1.25 step


def test_seed_threshold_hysteresis_and_literal_sign(context, obs):
    ctx = context(1)
    up_fc = np.full((1, 5, 4, 2), 0.8)
    intended = make_policy(
        "seed_threshold", up_threshold=0.05, down_threshold=0.1, down_ticks=3
    ).bind(ctx)
    literal = make_policy("seed_literal", threshold=0.05).bind(ctx)
    o = obs(usage_of([0.5], 1), forecast=up_fc)  # predicted 0.8 > usage 0.5
    t_int, _ = intended.targets(o)
    t_lit, _ = literal.targets(o)
    np.testing.assert_allclose(t_int, 1.3, rtol=1e-6)  # scales UP by 0.3
    np.testing.assert_allclose(t_lit, 0.7, rtol=1e-6)  # literal scales DOWN by 0.3
    down = obs(usage_of([0.8], 1), forecast=np.full((1, 5, 4, 2), 0.5))
    state = None
    seen = []
    for _ in range(4):
        t, state = intended.targets(down, state)
        seen.append(float(t[0, 0]))
    np.testing.assert_allclose(seen, [1.0, 1.0, 0.7, 1.0], rtol=1e-6)  # after 3 in a row
    t_lit, _ = literal.targets(down)
    np.testing.assert_allclose(t_lit, 1.3, rtol=1e-6)  # literal scales up at once


def test_vpa_target_is_p90_plus_margin_and_decays(context, obs):
    ctx = context(1)
    policy = make_policy("vpa", update_mode="always", half_life_s=600.0).bind(ctx)
    state = None
    for _ in range(20):
        t, state = policy.targets(obs(usage_of([1.0], 1)), state)
    assert 1.15 <= t[0, 0] <= 1.15 * 1.051
    history = []
    for _ in range(12):  # usage drops to 0.2: old samples fade with a 600 s half-life
        t, state = policy.targets(obs(usage_of([0.2], 1)), state)
        history.append(float(t[0, 0]))
    assert history[0] > 1.0  # one low sample does not move the P90
    assert history[-1] < 0.25  # after 6 half-lives the 1.0 samples weigh < 10%
    assert all(a >= b for a, b in itertools.pairwise(history))


def test_vpa_updater_only_acts_out_of_bounds(context, obs):
    policy = make_policy("vpa").bind(context(1))
    state = None
    for _ in range(300):  # a day of history: tight bounds
        t, state = policy.targets(obs(usage_of([1.0], 1), pending=np.full((1, 4), 1.2)), state)
    np.testing.assert_allclose(t, 1.2)  # 1.2 lies within [P50, P95] * 1.15 * confidence
    t, state = policy.targets(obs(usage_of([1.0], 1), pending=np.full((1, 4), 3.0)), state)
    assert 1.15 <= t[0, 0] <= 1.21  # far above the upper bound: set to the target


def test_static_peak_holds_the_warmup_peak(context, obs):
    policy = make_policy("static_peak", margin=0.1).bind(context(1))
    t0, state = policy.targets(obs(usage_of([0.5, 1.6, 0.7], 1)))
    np.testing.assert_allclose(t0, 1.76, rtol=1e-6)
    t1, _ = policy.targets(obs(usage_of([3.0], 1)), state)
    np.testing.assert_allclose(t1, t0)
    low, _ = policy.targets(obs(usage_of([0.2], 1)))
    np.testing.assert_allclose(low, 1.1, rtol=1e-6)  # never under the warm-up reference


def test_autopilot_recommenders(context, obs):
    peak = make_policy("autopilot_peak", window_s=900.0, safety_margin=0.0).bind(context(1))
    t, state = peak.targets(obs(usage_of([1.0, 2.0, 1.0, 1.0], 1)))
    assert t[0, 0] == pytest.approx(2.0)  # the 3-tick window holds 2.0, 1.0, 1.0
    t, state = peak.targets(obs(usage_of([1.0], 1)), state)
    assert t[0, 0] == pytest.approx(1.0)  # 2.0 left the window
    pct = make_policy("autopilot_percentile", percentile=0.5, safety_margin=0.0).bind(context(1))
    t, _ = pct.targets(obs(usage_of([1.0, 1.0, 1.0, 4.0], 1)))
    assert 1.0 <= t[0, 0] <= 1.06  # the median ignores the single 4.0


def test_predictive_scaling_reads_the_buffered_lead(context, obs):
    ctx = context(1, latency_s=0.0)
    fc = np.zeros((1, 5, 4, 2))
    fc[:, :, :, 0] = np.array([0.2, 0.7, 0.4, 0.3, 0.3])[None, :, None]  # P50 at leads 1,2,3,6,12
    now = make_policy("predictive_scaling", scheduling_buffer_s=0.0, target_utilization=0.5)
    early = make_policy("predictive_scaling", scheduling_buffer_s=300.0, target_utilization=0.5)
    t_now, _ = now.bind(ctx).targets(obs(usage_of([0.1], 1), forecast=fc))
    t_early, _ = early.bind(ctx).targets(obs(usage_of([0.1], 1), forecast=fc))
    np.testing.assert_allclose(t_now, 0.4, rtol=1e-6)  # lead 1: 0.2 / 0.5
    np.testing.assert_allclose(t_early, 1.4, rtol=1e-6)  # lead 2: 0.7 / 0.5


def test_oracle_provisions_the_true_need_and_ramps(context, obs):
    ctx = context(1, latency_s=60.0, max_change_factor=2.0)  # lands at the next boundary
    fc = np.zeros((1, 5, 4, 2))
    # leads 1, 2, 3, 6, 12: lead 1 is the previous decision's business, this one covers lead 2
    fc[:, :, :, :] = np.array([0.9, 0.6, 0.4, 0.3, 0.2])[None, :, None, None]
    oracle = make_policy("oracle", margin=0.0).bind(ctx)
    t, _ = oracle.targets(obs(usage_of([0.1], 1), forecast=fc))
    np.testing.assert_allclose(t, 0.6, rtol=1e-6)
    fc[:, 4] = 8.0  # a peak at lead 12 needs 8 / 2**10 now: no effect; at lead 3 it does
    fc[:, 2] = 4.0
    t, _ = oracle.targets(obs(usage_of([0.1], 1), forecast=fc))
    np.testing.assert_allclose(t, 2.0, rtol=1e-6)  # 4.0 at lead 3 needs >= 2.0 by lead 2
    with pytest.raises(PolicyError, match=r"include \[2\]"):
        make_policy("oracle").bind(context(1, latency_s=60.0, leads=(1, 3, 6)))


def test_shadow_is_priority_aware_and_scales_down_gently(context, obs):
    ctx = context(2, priority=(0, 2))
    fc = np.zeros((2, 5, 4, 2))
    fc[..., 0], fc[..., 1] = 1.0, 1.5
    fixed = {"selection": {"enabled": False}, "margin": 0.0}  # the fixed rule alone
    plain = {"error_gain": 0.0, "reactive_margin": -1.0, "peak_share": 0.0, **fixed}
    policy = make_policy(
        "shadow", quantile=(0.5, 0.5, 0.9), headroom=(0.0, 0.0, 0.2), down_step=1.0, **plain
    ).bind(ctx)
    t, _ = policy.targets(obs(usage_of([0.5], 2), forecast=fc, priority=(0, 2)))
    np.testing.assert_allclose(t[0], 1.0, rtol=1e-6)  # LOW: P50, no headroom
    np.testing.assert_allclose(t[1], 1.8, rtol=1e-6)  # HIGH: P90 * 1.2
    gentle = make_policy("shadow", down_step=0.1, headroom=0.0, **plain).bind(ctx)
    t, _ = gentle.targets(obs(usage_of([0.1], 2), forecast=fc * 0.1, pending=np.full((2, 4), 2.0),
                              priority=(0, 2)))
    np.testing.assert_allclose(t, 1.8, rtol=1e-6)  # at most 10% down per tick
    floor = make_policy(
        "shadow", reactive_margin=(0.0, 0.0, 0.5), down_step=1.0, peak_share=0.0, **fixed
    ).bind(ctx)
    t, _ = floor.targets(obs(usage_of([3.0], 2), forecast=fc, priority=(0, 2)))
    np.testing.assert_allclose(t[1], 4.5, rtol=1e-6)  # the burst the forecast missed
    peak = make_policy(
        "shadow", peak_share=((0, 0, 0, 0), (0, 0, 0, 0), (1.0, 0, 0, 0)), peak_window_s=1200,
        reactive_margin=-1.0, headroom=0.0, error_gain=0.0, down_step=1.0, **fixed,
    ).bind(ctx)
    t, state = peak.targets(obs(usage_of([0.5, 5.0, 0.5, 0.5], 2), forecast=fc * 0.1,
                                priority=(0, 2)))
    assert t[1, 0] == pytest.approx(5.0)  # HIGH CPU holds the 4-tick window's peak
    assert t[0, 0] == pytest.approx(0.1375, rel=1e-5)  # LOW: no peak floor; P80 interpolated
    for _ in range(4):
        t, state = peak.targets(obs(usage_of([0.5], 2), forecast=fc * 0.1, priority=(0, 2)), state)
    assert t[1, 0] == pytest.approx(0.5)  # the peak left the window


def test_state_continues_without_threading_and_resets_on_episode_start(context, obs):
    policy = make_policy("hpa", stabilization_window_s=300).bind(context(1))
    high, low = obs(usage_of([0.9], 1)), obs(usage_of([0.35], 1))
    a_high, _ = policy.predict(high, episode_start=True)
    a_held, _ = policy.predict(low)  # state=None: continues the kept window
    np.testing.assert_allclose(a_held, a_high)
    a_reset, _ = policy.predict(low, episode_start=True)  # a new episode forgets it
    np.testing.assert_allclose(a_reset, 0.5, rtol=1e-6)
    batch = {k: np.stack([v, v]) for k, v in low.items()}
    with pytest.raises(PolicyError, match="list of 2 states"):
        policy.predict(batch, state=["only one"])


def test_every_catalog_entry_is_a_target_policy_with_a_config():
    for name in BASELINES:
        cls = POLICIES.get(name)
        assert issubclass(cls, TargetPolicy)
        assert cls().name == name
